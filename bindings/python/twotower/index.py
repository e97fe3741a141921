"""A vector index over embeddings made elsewhere (a ``tt_index``): Faiss's IndexFlatIP with
int64 keys, searched with twotower's scans."""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, byref, c_int64, c_size_t, c_void_p
from typing import Any, Iterable, Optional, Sequence, Union

import numpy as np

from . import _capi, errors
from ._runtime import lib
from .model import (
    PrecisionLike,
    _float32_rows,
    _Handle,
    _precision_code,
    _precision_name,
    _query_options,
    _results,
    _UseGuard,
)

__all__ = ["VectorIndex"]


def _index_options(precision: PrecisionLike, threads: int, what: str) -> _capi.IndexOptions:
    o = _capi.IndexOptions()
    lib.tt_index_options_init(byref(o))
    o.precision = _precision_code(precision, what, "precision")
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise errors.InvalidArgumentError(f"twotower: {what}: threads must be an integer, got {threads!r}")
    o.threads = threads
    return o


class VectorIndex(_Handle):
    """Vectors of one dimension under int64 keys, searched by inner product (normalise them
    yourself for cosine similarity), as Faiss's IndexFlatIP with ids.

    ``VectorIndex(dim)`` makes an empty index; :meth:`load` reads an index file or a model
    file's candidate index. ``precision`` ("float32" default, "bf16", "fp16", "int8") is how
    the vectors are stored: they are rounded to it as they are added, and bf16/int8 are also
    scanned compactly and re-scored in float32. ``threads``: 0 (all cores) or 1..256.

    Threads: :meth:`search`, :meth:`save` and the properties may run from any number of threads
    at once; :meth:`add`, :meth:`build_ann` and :meth:`drop_ann` need the index to themselves
    (other calls meanwhile raise :class:`InvalidArgumentError`, "busy"). Calls run without the GIL.
    """

    _NOUN = "index"
    _FREE = "tt_index_free"

    def __init__(self, dim: int, precision: PrecisionLike = None, threads: int = 0):
        self._handle: Optional[int] = None
        self._guard = _UseGuard("index")
        self._lib = lib
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) < 1:
            raise errors.InvalidArgumentError(f"twotower: VectorIndex: dim must be a positive integer, got {dim!r}")
        o = _index_options(precision, threads, "VectorIndex")
        h = c_void_p()
        lib.tt_index_create(int(dim), byref(o), byref(h))
        self._handle = h.value

    @classmethod
    def load(cls, path: Union[str, os.PathLike], precision: PrecisionLike = None, threads: int = 0) -> "VectorIndex":
        """Reads an index file (:meth:`save`, ``twotower index build``) or the candidate index
        of a model file. ``precision`` None keeps the stored one. A model's keys that are not
        all integers (titles, say) give an index keyed by row number (the model's candidate
        ids)."""
        o = _index_options(precision, threads, "VectorIndex.load")
        h = c_void_p()
        lib.tt_index_load(_capi.encode_path(path), byref(o), byref(h))
        idx = cls.__new__(cls)
        idx._handle = h.value
        idx._guard = _UseGuard("index")
        idx._lib = lib
        return idx

    # -- description ------------------------------------------------------------------------

    def _size(self, fn, what: str) -> int:
        n = c_size_t()
        with self._guard.shared(what):
            fn(self._h(what), byref(n))
        return int(n.value)

    def __len__(self) -> int:
        return self._size(lib.tt_index_size, "VectorIndex.size")

    @property
    def size(self) -> int:
        """Vectors in the index."""
        return len(self)

    @property
    def dim(self) -> int:
        return self._size(lib.tt_index_dim, "VectorIndex.dim")

    @property
    def precision(self) -> str:
        """How the vectors are stored: "float32", "bf16", "fp16" or "int8"."""
        out = ctypes.c_int32(-1)
        with self._guard.shared("VectorIndex.precision"):
            lib.tt_index_precision(self._h("VectorIndex.precision"), byref(out))
        return _precision_name(out.value)

    # -- building ---------------------------------------------------------------------------

    def add(self, vectors: Any, keys: Optional[Any] = None) -> None:
        """Appends vectors ([n, dim] array, or one vector; converted to float32; every value
        finite) under ``keys`` (n integers; duplicates allowed; -1 is reserved) or, without
        keys, under their row numbers. Each call re-packs the index: add in large batches."""
        x = _float32_rows(vectors, "VectorIndex.add: vectors")
        n, d = x.shape
        kp = None
        if keys is not None:
            k = np.asarray(keys)
            if k.dtype.kind not in "iu":
                raise errors.InvalidArgumentError(f"twotower: VectorIndex.add: keys must be integers, got {k.dtype}")
            k = np.ascontiguousarray(k.reshape(-1), dtype=np.int64)
            if k.size != n:
                raise errors.InvalidArgumentError(
                    f"twotower: VectorIndex.add: {k.size} keys for {n} vectors")
            kp = k.ctypes.data_as(POINTER(c_int64))
        with self._guard.exclusive("VectorIndex.add"):
            lib.tt_index_add(self._h("VectorIndex.add"), x.ctypes.data_as(POINTER(ctypes.c_float)), n, d, kp)

    def build_ann(self, partitions: int = 0, seed: int = 0, iterations: int = 12,
                  calibration: Optional[Any] = None) -> None:
        """Builds the approximate index (k-means partitions scanned with an int8 copy, re-scored
        in float32); ``partitions`` 0: about 2 sqrt(size). Its recall@100 is calibrated on the
        ``calibration`` queries ([n, dim], up to 256 used) or on a sample of the vectors. Saved
        with the index; :meth:`add` rebuilds it."""
        o = _capi.AnnOptions()
        lib.tt_ann_options_init(byref(o))
        o.partitions = int(partitions)
        o.seed = int(seed)
        o.iterations = int(iterations)
        q, n, d = None, 0, 0
        if calibration is not None:
            q = _float32_rows(calibration, "VectorIndex.build_ann: calibration")
            n, d = q.shape
        with self._guard.exclusive("VectorIndex.build_ann"):
            lib.tt_index_build_ann(self._h("VectorIndex.build_ann"), byref(o),
                                   None if q is None else q.ctypes.data_as(POINTER(ctypes.c_float)), n, d)

    def drop_ann(self) -> None:
        with self._guard.exclusive("VectorIndex.drop_ann"):
            lib.tt_index_drop_ann(self._h("VectorIndex.drop_ann"))

    def ann_partitions(self) -> int:
        """Partitions of the approximate index, 0 when there is none."""
        out = c_size_t()
        with self._guard.shared("VectorIndex.ann_partitions"):
            lib.tt_index_ann_info(self._h("VectorIndex.ann_partitions"), 0.0, byref(out), None)
        return int(out.value)

    def ann_probe(self, recall: float) -> int:
        """The breadth the calibration found for a recall target (0 without an approximate index)."""
        out = c_size_t()
        with self._guard.shared("VectorIndex.ann_probe"):
            lib.tt_index_ann_info(self._h("VectorIndex.ann_probe"), float(recall), None, byref(out))
        return int(out.value)

    # -- searching --------------------------------------------------------------------------

    def search(
        self,
        queries: Any,
        k: int = 10,
        exclude: Optional[Sequence[Iterable[int]]] = None,
        allow: Optional[Iterable[int]] = None,
        recall: Optional[float] = None,
        probe: Optional[int] = None,
        rescore: Optional[int] = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k keys by inner product for each query ([n, dim] array, or one vector; finite).
        ``exclude`` (one list of keys per query) and ``allow`` (keys) filter the search; keys
        not in the index are ignored. ``recall``/``probe``/``rescore``: approximate search, as
        in :meth:`Model.query`. Returns ``(keys, scores)``, int64 and float32 [n, k], best
        first, ties to the earlier-added vector; key -1 and score -inf beyond the available
        vectors. Thread-safe; runs without the GIL."""
        q = _float32_rows(queries, "VectorIndex.search: queries")
        n, d = q.shape
        opts, keep = _query_options("VectorIndex.search", n, k, exclude, allow, recall, probe, rescore)
        keys, scores, keys_p, scores_p = _results(n, int(k))
        with self._guard.shared("VectorIndex.search"):
            lib.tt_index_search(self._h("VectorIndex.search"), q.ctypes.data_as(POINTER(ctypes.c_float)), n, d,
                                byref(opts), keys_p, scores_p)
        del keep
        return keys, scores

    # -- files ------------------------------------------------------------------------------

    def save(self, path: Union[str, os.PathLike], compression_level: int = 3) -> None:
        """Writes the index as a model file holding only an index section (and the approximate
        index's), atomically."""
        o = _capi.SaveOptions()
        lib.tt_save_options_init(byref(o))
        o.compression_level = int(compression_level)
        with self._guard.shared("VectorIndex.save"):
            lib.tt_index_save(self._h("VectorIndex.save"), _capi.encode_path(path), byref(o))

    def __repr__(self) -> str:
        if self.closed:
            return "<twotower.VectorIndex (closed)>"
        try:
            return f"<twotower.VectorIndex {len(self)} x {self.dim} {self.precision}>"
        except errors.Error:
            return "<twotower.VectorIndex>"
