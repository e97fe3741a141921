"""Models: train, evaluate, save, load and query."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import threading
from collections.abc import Mapping, Sequence
from ctypes import POINTER, byref, c_char_p, c_int64, c_size_t, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, NamedTuple, Optional, Union

import numpy as np

from . import _capi, errors
from ._runtime import lib
from .table import Table, as_table

__all__ = ["Model", "ModelSlot", "Metrics", "Progress", "Precision", "convert", "import_model"]

TableLike = Union[Table, Mapping[str, Iterable]]
PrecisionLike = Optional[Union[str, int]]


@dataclass(frozen=True)
class Metrics:
    """FactorizedTopK accuracies: ``accuracy[i]`` is the top-``k[i]`` accuracy over
    ``examples`` held-out (query, candidate) pairs. ``metrics[100]`` is the top-100 accuracy.
    ``baseline[i]`` is the most-popular list's top-``k[i]`` accuracy on the same rows (the
    candidates ranked by their count in the training rows, one list for every query); empty
    when the counts are unknown."""

    k: tuple[int, ...]
    accuracy: tuple[float, ...]
    examples: int
    baseline: tuple[float, ...] = ()

    @classmethod
    def _from_c(cls, m: _capi.Metrics) -> "Metrics":
        n = min(int(m.count), _capi.TT_MAX_K)
        baseline = tuple(float(m.baseline_accuracy[i]) for i in range(n)) if m.has_baseline else ()
        return cls(
            tuple(int(m.k[i]) for i in range(n)),
            tuple(float(m.accuracy[i]) for i in range(n)),
            int(m.examples),
            baseline,
        )

    def not_beating_baseline(self) -> list[int]:
        """The k at which the model does not beat the most-popular baseline (empty: it beats
        it everywhere, or there is no baseline)."""
        return [k for k, a, b in zip(self.k, self.accuracy, self.baseline) if not a > b]

    def __getitem__(self, k: int) -> float:
        try:
            return self.accuracy[self.k.index(k)]
        except ValueError:
            raise KeyError(f"top-{k} accuracy was not evaluated (k = {list(self.k)})") from None

    def as_dict(self) -> dict[str, float]:
        """{"top_1": ..., "top_5": ..., ...}"""
        return {f"top_{k}": a for k, a in zip(self.k, self.accuracy)}

    def __bool__(self) -> bool:
        return bool(self.k)


@dataclass(frozen=True)
class Progress:
    """What the progress callback of :meth:`Model.train` receives, after every batch and once
    more at the end of every epoch (``epoch_done``; then ``batch == batches``).

    ``loss`` (mean per-example loss of the epoch) is set only when ``epoch_done``; ``metrics``
    only when that epoch was evaluated."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    epoch_done: bool
    loss: Optional[float]
    metrics: Optional[Metrics]

    @classmethod
    def _from_c(cls, p: _capi.Progress) -> "Progress":
        done = bool(p.epoch_done)
        return cls(
            int(p.epoch),
            int(p.epochs),
            int(p.batch),
            int(p.batches),
            done,
            float(p.loss) if done else None,
            Metrics._from_c(p.metrics) if p.has_metrics else None,
        )


class _UseGuard:
    """Keeps Python callers within the C API's thread rules for one model: any number of
    concurrent readers (queries, embeddings, save, ...) or one exclusive user (train,
    rebuild_index, close). A reader arriving during an exclusive call is refused with a clear
    error instead of racing; an exclusive call waits for running readers to finish."""

    def __init__(self, noun: str = "model") -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer: Optional[str] = None
        self._noun = noun

    @contextlib.contextmanager
    def shared(self, what: str) -> Iterator[None]:
        with self._cond:
            if self._writer and self._writer.endswith(".close"):
                raise errors.InvalidArgumentError(f"twotower: {what}: the {self._noun} is closed")
            if self._writer:
                raise errors.InvalidArgumentError(
                    f"twotower: {what}: the {self._noun} is busy in {self._writer}, which needs exclusive access"
                )
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self, what: str) -> Iterator[None]:
        with self._cond:
            if self._writer:
                raise errors.InvalidArgumentError(
                    f"twotower: {what}: the {self._noun} is busy in {self._writer}, which needs exclusive access"
                )
            self._writer = what
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._writer = None


def _key_array(values: Any, what: str):
    """Candidate keys as a ctypes array of UTF-8 C strings."""
    if isinstance(values, (str, bytes)):
        raise errors.InvalidArgumentError(f"twotower: Model.query: {what} must be a list of keys, not one string")
    keys = [str(v).encode("utf-8") for v in (values if values is not None else [])]
    for key in keys:
        if b"\0" in key:
            raise errors.InvalidArgumentError(f"twotower: Model.query: {what}: key {key!r} contains a NUL byte")
    return (c_char_p * len(keys))(*keys)


def _int64_array(values: Any, what: str) -> np.ndarray:
    arr = np.asarray(values if values is not None else [], dtype=None)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.dtype.kind not in "iu":
        raise errors.InvalidArgumentError(f"twotower: {what} must hold integer candidate ids, got {arr.dtype}")
    return np.ascontiguousarray(arr.reshape(-1), dtype=np.int64)


def _query_options(
    what: str,
    n: int,
    k: int,
    exclude: Optional[Sequence[Iterable[int]]],
    allow: Optional[Iterable[int]],
    recall: Optional[float],
    probe: Optional[int],
    rescore: Optional[int],
    empty_allow: int = -1,
) -> tuple[_capi.QueryOptions, list]:
    """tt_query_options for n query rows, and the arrays it points into (keep them alive for
    the call). ``empty_allow`` stands for an empty allow-list (the C API reads allow_count 0 as
    "no allow-list"): an id or key that is never returned."""
    if isinstance(k, bool) or int(k) < 1:
        raise errors.InvalidArgumentError(f"twotower: {what}: k must be a positive integer, got {k!r}")
    opts = _capi.QueryOptions()
    lib.tt_query_options_init(byref(opts))
    opts.k = int(k)
    if recall is not None:
        opts.recall = float(recall)
    for name, value in (("probe", probe), ("rescore", rescore)):
        if value is not None:
            if isinstance(value, bool) or int(value) < 0:
                raise errors.InvalidArgumentError(
                    f"twotower: {what}: {name} must be a non-negative integer, got {value!r}"
                )
            setattr(opts, name, int(value))
    keep: list = []  # the arrays the C call reads must outlive it
    if exclude is not None:
        if isinstance(exclude, (str, bytes)) or len(exclude) != n:
            raise errors.InvalidArgumentError(
                f"twotower: {what}: exclude must hold one list of ids per query row "
                f"({n}), got {len(exclude) if not isinstance(exclude, (str, bytes)) else 'a string'}"
            )
        lists = [_int64_array(e, f"exclude[{i}]") for i, e in enumerate(exclude)]
        keep.append(lists)
        ptrs = (POINTER(c_int64) * max(n, 1))(*[a.ctypes.data_as(POINTER(c_int64)) for a in lists])
        counts = (c_size_t * max(n, 1))(*[a.size for a in lists])
        keep += [ptrs, counts]
        opts.exclude = ctypes.cast(ptrs, POINTER(POINTER(c_int64)))
        opts.exclude_counts = ctypes.cast(counts, POINTER(c_size_t))
    if allow is not None:
        allowed = _int64_array(list(allow) if not isinstance(allow, np.ndarray) else allow, "allow")
        if allowed.size == 0:
            allowed = np.array([empty_allow], np.int64)
        keep.append(allowed)
        opts.allow = allowed.ctypes.data_as(POINTER(c_int64))
        opts.allow_count = allowed.size
    opts.capacity = n * int(k)
    return opts, keep


def _key_filters(
    what: str,
    n: int,
    opts: _capi.QueryOptions,
    keep: list,
    exclude_keys: Optional[Sequence[Iterable[str]]],
    allow_keys: Optional[Iterable[str]],
    ignore_unknown_keys: bool,
) -> None:
    """Adds the key filters to ``opts`` (made by :func:`_query_options`, after its id lists),
    appending the arrays they point into to ``keep``."""
    if exclude_keys is not None:
        if isinstance(exclude_keys, (str, bytes)) or len(exclude_keys) != n:
            raise errors.InvalidArgumentError(
                f"twotower: {what}: exclude_keys must hold one list of keys per query row ({n})"
            )
        key_lists = [_key_array(e, f"exclude_keys[{i}]") for i, e in enumerate(exclude_keys)]
        kptrs = (POINTER(c_char_p) * max(n, 1))(*[ctypes.cast(a, POINTER(c_char_p)) for a in key_lists])
        kcounts = (c_size_t * max(n, 1))(*[len(a) for a in key_lists])
        keep += [key_lists, kptrs, kcounts]
        opts.exclude_keys = ctypes.cast(kptrs, POINTER(POINTER(c_char_p)))
        opts.exclude_key_counts = ctypes.cast(kcounts, POINTER(c_size_t))
    if allow_keys is not None:
        akeys = _key_array(allow_keys, "allow_keys")
        keep.append(akeys)
        if len(akeys):
            opts.allow_keys = ctypes.cast(akeys, POINTER(c_char_p))
            opts.allow_key_count = len(akeys)
        elif opts.allow_count == 0:
            none = np.array([-1], np.int64)  # an empty allow-list allows nothing
            keep.append(none)
            opts.allow = none.ctypes.data_as(POINTER(c_int64))
            opts.allow_count = 1
    opts.ignore_unknown_keys = 1 if ignore_unknown_keys else 0


def _float32_rows(vectors: Any, what: str) -> np.ndarray:
    """Vectors as a C-contiguous float32 [n, d] array (a 1-D array is one row)."""
    arr = np.asarray(vectors)
    if arr.dtype.kind not in "fiu":
        raise errors.InvalidArgumentError(f"twotower: {what} must hold numbers, got {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise errors.InvalidArgumentError(
            f"twotower: {what} must be a 2-D array [rows, dimension], got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _results(n: int, k: int) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Output arrays [n, k] (int64, float32) and their ctypes pointers."""
    ids = np.empty((n, k), np.int64)
    scores = np.empty((n, k), np.float32)
    return ids, scores, ids.ctypes.data_as(POINTER(c_int64)), scores.ctypes.data_as(POINTER(ctypes.c_float))


class _Handle:
    """The lifetime of a C handle shared by Model and VectorIndex: ``close()`` (waits for
    running shared calls), context manager, freeing on garbage collection, and ``_h(what)``
    refusing a closed handle. Subclasses set ``_NOUN`` ("model") and ``_FREE`` (the name of
    the C free function)."""

    _NOUN = "model"
    _FREE = "tt_model_free"
    _handle: Optional[int] = None

    def close(self) -> None:
        """Frees the handle now (waits for running calls; also done on garbage collection)."""
        if self._handle is None:
            return
        with self._guard.exclusive(f"{type(self).__name__}.close"):
            h, self._handle = self._handle, None
            if h is not None:
                getattr(self._lib, self._FREE)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            h, self._handle = self._handle, None
            if h is not None:
                getattr(self._lib, self._FREE)(h)
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        return self._handle is None

    def _h(self, what: str) -> int:
        h = self._handle
        if h is None:
            raise errors.InvalidArgumentError(f"twotower: {what}: the {self._NOUN} is closed")
        return h


class Model(_Handle):
    """A two-tower retrieval model (a ``tt_model``).

    ``Model(spec)`` makes an untrained model from a JSON spec given as a dict, a JSON string or
    the path of a JSON file; :meth:`load` and :meth:`from_bytes` read a saved one.

    Threads: queries, embeddings, ``candidate_*``, ``spec``/``metadata``, ``save`` and
    ``to_bytes`` may run from any number of threads at once. ``train``, ``evaluate`` and
    ``rebuild_index`` need the model to themselves: while one runs, other calls on the same model raise
    :class:`InvalidArgumentError` ("busy"). Every long call runs without the GIL.
    """

    def __init__(self, spec: Union[str, os.PathLike, Mapping[str, Any]]):
        self._lib = lib
        self._handle: Optional[int] = None
        self._guard = _UseGuard()
        h = c_void_p()
        if isinstance(spec, Mapping):
            lib.tt_model_create(json.dumps(spec).encode("utf-8"), byref(h))
        elif isinstance(spec, str) and spec.lstrip().startswith("{"):
            lib.tt_model_create(spec.encode("utf-8"), byref(h))
        elif isinstance(spec, (str, os.PathLike)):
            lib.tt_model_create_from_file(_capi.encode_path(spec), byref(h))
        else:
            raise errors.InvalidArgumentError(
                f"twotower: Model(spec): expected a dict, a JSON string or a path, got {type(spec).__name__}"
            )
        self._handle = h.value

    @classmethod
    def _adopt(cls, handle: int) -> "Model":
        m = cls.__new__(cls)
        m._lib = lib
        m._handle = handle
        m._guard = _UseGuard()
        return m

    # -- training ---------------------------------------------------------------------------

    def train(
        self,
        interactions: TableLike,
        candidates: TableLike,
        epochs: Optional[int] = None,
        eval_every: Optional[int] = None,
        seed: Optional[int] = None,
        threads: int = 0,
        progress: Optional[Callable[[Progress], Any]] = None,
        reset: bool = False,
    ) -> Metrics:
        """Fits the preprocessing, splits ``interactions`` as the spec says, trains, evaluates
        on the held-out rows and builds the candidate index from ``candidates``. Returns the
        last evaluation (empty Metrics if none ran).

        A trained or loaded model trains further instead (warm start): from its weights and,
        when it has them (trained here, or loaded from a file saved with
        ``include_optimizer=True``), its optimizer state and shuffling stream, so 10 epochs, a
        save, a load and 10 more give the model of 20 epochs bit for bit. The vocabularies are
        not refitted: ids they lack map to the out-of-vocabulary row or their hash bucket. A
        ``seed`` starts a new shuffling stream; ``reset=True`` starts over from the spec.

        ``epochs`` / ``eval_every`` / ``seed`` None: the spec's (``eval_every=0``: evaluate only
        after the last epoch). ``threads`` 0: the model's (:attr:`threads`); otherwise the model
        keeps that count.

        ``progress(p: Progress)`` is called on this thread after every batch and every epoch,
        holding the GIL (the training itself runs without it). Returning ``False`` (or any
        false value other than None) cancels: ``train`` raises :class:`CancelledError` and the
        model keeps the weights it had. An exception raised inside the callback cancels too
        and is re-raised by ``train``; so is Ctrl-C (KeyboardInterrupt) while training runs on
        the main thread.
        """
        opts = self._train_options("Model.train", epochs, eval_every, seed, threads, reset)

        def call(metrics):
            with _tables(interactions, candidates) as (itab, ctab):
                lib.tt_model_train(self._h("Model.train"), itab._h, ctab._h, byref(opts), byref(metrics))

        return self._run_training("Model.train", opts, progress, call)

    def train_streamed(
        self,
        interactions_path: Union[str, os.PathLike],
        candidates: TableLike,
        shuffle_buffer_rows: int = 0,
        memory_limit: int = 0,
        epochs: Optional[int] = None,
        eval_every: Optional[int] = None,
        seed: Optional[int] = None,
        threads: int = 0,
        progress: Optional[Callable[[Progress], Any]] = None,
        reset: bool = False,
    ) -> Metrics:
        """Trains a new model from a columnar data file larger than memory
        (:func:`convert_data`, :meth:`Table.write_columnar`), read a window at a time, with
        the catalogue ``candidates`` in memory. Give ``shuffle_buffer_rows`` (training rows held
        at most), ``memory_limit`` (bytes the process's peak resident set stays under, whatever
        the file's row count: the buffer is what the fixed part leaves), or both. A limit that
        cannot hold the fixed part and one batch raises :class:`InvalidArgumentError` with the
        figures before the first epoch. The spec must declare the file's column types and keep
        ``data.train_rows`` 0. A trained model trains anew only with ``reset=True``. The other
        arguments are :meth:`train`'s. See docs/data-format.md, "Streaming training"."""
        opts = self._train_options("Model.train_streamed", epochs, eval_every, seed, threads, reset)
        so = _capi.StreamOptions()
        lib.tt_stream_options_init(byref(so))
        for name, value in (("shuffle_buffer_rows", shuffle_buffer_rows), ("memory_limit", memory_limit)):
            if int(value) < 0:
                raise errors.InvalidArgumentError(f"twotower: Model.train_streamed: {name} must be >= 0, got {value}")
            setattr(so, name, int(value))
        path = os.fsencode(interactions_path)

        def call(metrics):
            with _tables(candidates) as (ctab,):
                lib.tt_model_train_streamed(self._h("Model.train_streamed"), path, ctab._h, byref(opts), byref(so),
                                            byref(metrics))

        return self._run_training("Model.train_streamed", opts, progress, call)

    @staticmethod
    def _train_options(name, epochs, eval_every, seed, threads, reset) -> _capi.TrainOptions:
        opts = _capi.TrainOptions()
        lib.tt_train_options_init(byref(opts))
        if epochs is not None:
            if int(epochs) < 1:
                raise errors.InvalidArgumentError(f"twotower: {name}: epochs must be >= 1, got {epochs}")
            opts.epochs = int(epochs)
        if eval_every is not None:
            if int(eval_every) < 0:
                raise errors.InvalidArgumentError(f"twotower: {name}: eval_every must be >= 0, got {eval_every}")
            opts.eval_every = int(eval_every)
        if seed is not None:
            opts.seed = int(seed) & 0xFFFFFFFFFFFFFFFF
            opts.seed_set = 1
        opts.threads = int(threads)
        opts.reset = int(bool(reset))
        return opts

    def _run_training(self, name, opts, progress, call) -> Metrics:
        """Runs call(metrics) (the C training call) with the progress callback, cancellation
        and Ctrl-C handling train() documents."""
        raised: list[BaseException] = []
        interrupted: list[int] = []

        def trampoline(p, _user_data):
            try:
                if interrupted:
                    return 1
                if progress is None:
                    return 0
                r = progress(Progress._from_c(p.contents))
                return 1 if (r is not None and not r) else 0
            except BaseException as e:  # noqa: BLE001 - re-raised by train()
                raised.append(e)
                return 1

        # Ctrl-C: Python runs signal handlers on the main thread between bytecodes, so an
        # exception from the default handler would hit the ctypes trampoline before any `try`
        # and be lost. While training on the main thread, a handler that only records the
        # signal replaces the default one; the trampoline then cancels and train() raises
        # KeyboardInterrupt.
        on_main = threading.current_thread() is threading.main_thread()
        catch_sigint = on_main and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        if progress is not None or catch_sigint:
            callback = _capi.PROGRESS_FN(trampoline)  # kept alive by this frame during the call
            opts.progress = callback
        metrics = _capi.Metrics()
        lib.tt_metrics_init(byref(metrics))
        with self._guard.exclusive(name):
            previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum)) if catch_sigint else None
            try:
                call(metrics)
            except errors.CancelledError:
                if raised:
                    raise raised[0] from None
                if interrupted:
                    raise KeyboardInterrupt from None
                raise
            finally:
                if catch_sigint:
                    signal.signal(signal.SIGINT, previous)
            if interrupted:
                raise KeyboardInterrupt
        return Metrics._from_c(metrics)

    def evaluate(
        self,
        interactions: TableLike,
        candidates: TableLike,
        distinct_candidates: bool = False,
        k: Optional[Sequence[int]] = None,
        batch_size: int = 0,
    ) -> Metrics:
        """FactorizedTopK of the trained model on the (query, candidate) rows of
        ``interactions`` against every row of ``candidates`` (or distinct ids only), on the
        model's :attr:`threads`. ``k``: the k values (up to 16; None: the spec's);
        ``batch_size`` 0: the spec's eval_batch_size."""
        o = _capi.EvalOptions()
        lib.tt_eval_options_init(byref(o))
        o.distinct_candidates = int(bool(distinct_candidates))
        o.batch_size = int(batch_size)
        if k is not None:
            ks = (ctypes.c_uint32 * max(1, len(k)))(*[int(x) for x in k])
            o.k = ctypes.cast(ks, POINTER(ctypes.c_uint32))
            o.k_count = len(k)
        metrics = _capi.Metrics()
        lib.tt_metrics_init(byref(metrics))
        # The header lists evaluation among the calls that need exclusive access to the model.
        with _tables(interactions, candidates) as (itab, ctab), self._guard.exclusive("Model.evaluate"):
            lib.tt_model_evaluate_v2(self._h("Model.evaluate"), itab._h, ctab._h, byref(o), byref(metrics))
        return Metrics._from_c(metrics)

    # -- threads ----------------------------------------------------------------------------

    @property
    def threads(self) -> int:
        """The threads this model's queries, evaluation, index builds and training (with
        ``threads=0``) run on: all cores by default. Set it to a count (1 .. 256) or 0 for all
        cores; setting needs the model to itself. Answers do not depend on it (training does)."""
        out = ctypes.c_int32(0)
        with self._guard.shared("Model.threads"):
            lib.tt_model_threads(self._h("Model.threads"), byref(out))
        return int(out.value)

    @threads.setter
    def threads(self, count: int) -> None:
        with self._guard.exclusive("Model.threads"):
            lib.tt_model_set_threads(self._h("Model.threads"), int(count))

    # -- files ------------------------------------------------------------------------------

    @staticmethod
    def _save_options(compression_level: int, include_optimizer: bool) -> _capi.SaveOptions:
        o = _capi.SaveOptions()
        lib.tt_save_options_init(byref(o))
        o.compression_level = int(compression_level)
        o.include_optimizer = int(bool(include_optimizer))
        return o

    def save(self, path: Union[str, os.PathLike], compression_level: int = 3, include_optimizer: bool = False) -> None:
        """Writes the model file atomically (spec, preprocessing, weights and candidate index;
        with ``include_optimizer``, the optimizer state too: a checkpoint). zstd level 0 (uncompressed) .. 19."""
        o = self._save_options(compression_level, include_optimizer)
        with self._guard.shared("Model.save"):
            lib.tt_model_save(self._h("Model.save"), _capi.encode_path(path), byref(o))

    def to_bytes(self, compression_level: int = 3, include_optimizer: bool = False) -> bytes:
        """The model file's bytes."""
        o = self._save_options(compression_level, include_optimizer)
        data, size = c_void_p(), c_size_t()
        with self._guard.shared("Model.to_bytes"):
            lib.tt_model_save_to_buffer(self._h("Model.to_bytes"), byref(o), byref(data), byref(size))
        try:
            return ctypes.string_at(data, size.value)
        finally:
            lib.tt_buffer_free(data)

    @staticmethod
    def _load_options(threads: int) -> _capi.LoadOptions:
        o = _capi.LoadOptions()
        lib.tt_load_options_init(byref(o))
        o.threads = int(threads)
        return o

    @classmethod
    def load(cls, path: Union[str, os.PathLike], threads: int = 0) -> "Model":
        """Loads a model file. A damaged file raises :class:`CorruptModelError` naming the
        section; a newer format :class:`UnsupportedError`. ``threads``: the model's
        :attr:`threads` (0: all cores)."""
        h = c_void_p()
        lib.tt_model_load_v2(_capi.encode_path(path), byref(cls._load_options(threads)), byref(h))
        return cls._adopt(h.value)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview], threads: int = 0) -> "Model":
        """Loads a model from the bytes of a model file (as made by :meth:`to_bytes`)."""
        if not isinstance(data, bytes):
            data = bytes(data)
        h = c_void_p()
        lib.tt_model_load_from_buffer_v2(data, len(data), byref(cls._load_options(threads)), byref(h))
        return cls._adopt(h.value)

    # -- description ------------------------------------------------------------------------

    def _json(self, fn, what: str) -> dict:
        out = c_char_p()
        with self._guard.shared(what):
            fn(self._h(what), byref(out))
            text = out.value  # copied while the model cannot change
        return json.loads(text.decode("utf-8"))

    @property
    def spec(self) -> dict:
        """The model spec (docs/model-spec.md) as a dict."""
        return self._json(lib.tt_model_spec_json, "Model.spec")

    @property
    def metadata(self) -> dict:
        """{library_version, spec_name, and once trained or loaded: data_fingerprint, seed,
        epochs, metrics, parameters, candidates, embedding_dim, format_version, ...}"""
        return self._json(lib.tt_model_metadata_json, "Model.metadata")

    def _size(self, fn, what: str) -> int:
        n = c_size_t()
        with self._guard.shared(what):
            fn(self._h(what), byref(n))
        return n.value

    @property
    def embedding_dim(self) -> int:
        return self._size(lib.tt_model_embedding_dim, "Model.embedding_dim")

    @property
    def num_candidates(self) -> int:
        """Candidates in the index (0 before training)."""
        return self._size(lib.tt_model_num_candidates, "Model.num_candidates")

    # -- serving ----------------------------------------------------------------------------

    def candidate_key(self, id: int) -> str:
        """Candidate id (0 .. num_candidates-1) -> its key (the spec's candidate id column)."""
        out = c_char_p()
        with self._guard.shared("Model.candidate_key"):
            lib.tt_model_candidate_key(self._h("Model.candidate_key"), int(id), byref(out))
            return out.value.decode("utf-8")

    def candidate_keys(self, ids: Any) -> np.ndarray:
        """Keys of an array of candidate ids (such as ``query``'s), same shape, dtype object;
        None where the id is -1 (no result)."""
        arr = np.asarray(ids, dtype=np.int64)
        out = np.empty(arr.shape, dtype=object)
        flat, res = arr.reshape(-1), out.reshape(-1)
        key = c_char_p()
        with self._guard.shared("Model.candidate_keys"):
            h = self._h("Model.candidate_keys")
            for i, v in enumerate(flat.tolist()):
                if v < 0:
                    res[i] = None
                else:
                    lib.tt_model_candidate_key(h, v, byref(key))
                    res[i] = key.value.decode("utf-8")
        return out

    def candidate_id(self, key: str) -> Optional[int]:
        """Key -> the first candidate id with that key, or None if there is none."""
        out = c_int64()
        with self._guard.shared("Model.candidate_id"):
            lib.tt_model_candidate_id(self._h("Model.candidate_id"), str(key).encode("utf-8"), byref(out))
        return None if out.value < 0 else int(out.value)

    def query(
        self,
        queries: TableLike,
        k: int = 10,
        exclude: Optional[Sequence[Iterable[int]]] = None,
        allow: Optional[Iterable[int]] = None,
        recall: Optional[float] = None,
        probe: Optional[int] = None,
        rescore: Optional[int] = None,
        exclude_keys: Optional[Sequence[Iterable[str]]] = None,
        allow_keys: Optional[Iterable[str]] = None,
        ignore_unknown_keys: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k candidates for each row of ``queries`` (the query tower's columns; an unknown
        id maps to the out-of-vocabulary embedding).

        ``exclude``: one list of candidate ids per query row, never returned for that row
        (e.g. items already rated). ``allow``: only these candidate ids may be returned.
        Approximate search, with an approximate index (``build_ann``): ``recall`` (0 < r < 1)
        scans the partitions calibrated to reach that recall@100; ``probe`` sets that breadth
        directly; ``rescore`` is the shortlist re-scored in float32 (default max(2k, 32)).
        Filters apply during the search: k results whenever k candidates pass. Without an
        approximate index the answer is exact.
        ``exclude_keys`` and ``allow_keys`` are the same filters by candidate key (ids are
        positions that move when the index is rebuilt; keys do not). A key covers every
        candidate that has it; key and id lists combine (excluded if either excludes, allowed
        if either allows). An unknown key raises InvalidArgumentError naming it, unless
        ``ignore_unknown_keys``.
        Returns ``(ids, scores)``: int64 and float32 arrays of shape [rows, k], best first, ties
        to the lower id; slots beyond the eligible candidates hold id -1 and score -inf.
        Thread-safe; runs without the GIL."""
        with _tables(queries) as (qtab,):
            n = qtab.num_rows
            opts, keep = _query_options("Model.query", n, k, exclude, allow, recall, probe, rescore)
            _key_filters("Model.query", n, opts, keep, exclude_keys, allow_keys, ignore_unknown_keys)
            ids, scores, ids_p, scores_p = _results(n, int(k))
            with self._guard.shared("Model.query"):
                lib.tt_model_query(self._h("Model.query"), qtab._h, byref(opts), ids_p, scores_p)
            del keep
        return ids, scores

    def query_vectors(
        self,
        vectors: Any,
        k: int = 10,
        exclude: Optional[Sequence[Iterable[int]]] = None,
        allow: Optional[Iterable[int]] = None,
        recall: Optional[float] = None,
        probe: Optional[int] = None,
        rescore: Optional[int] = None,
        exclude_keys: Optional[Sequence[Iterable[str]]] = None,
        allow_keys: Optional[Iterable[str]] = None,
        ignore_unknown_keys: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`query` with the query embeddings given: ``vectors`` is an array [n,
        embedding_dim] (or one vector) made elsewhere, converted to float32; every value must
        be finite. Options and results are :meth:`query`'s (candidate ids). Thread-safe; runs
        without the GIL."""
        q = _float32_rows(vectors, "Model.query_vectors: vectors")
        n, d = q.shape
        opts, keep = _query_options("Model.query_vectors", n, k, exclude, allow, recall, probe, rescore)
        _key_filters("Model.query_vectors", n, opts, keep, exclude_keys, allow_keys, ignore_unknown_keys)
        ids, scores, ids_p, scores_p = _results(n, int(k))
        with self._guard.shared("Model.query_vectors"):
            lib.tt_model_query_vectors(
                self._h("Model.query_vectors"), q.ctypes.data_as(POINTER(ctypes.c_float)), n, d, byref(opts), ids_p,
                scores_p)
        del keep
        return ids, scores

    def candidate_embeddings(self, first: int = 0, count: Optional[int] = None) -> np.ndarray:
        """The index's embeddings of candidates ``first`` .. ``first+count-1`` (all from
        ``first`` when count is None): float32 [count, embedding_dim], the values queries score
        against. Thread-safe."""
        first = int(first)
        if first < 0 or (count is not None and int(count) < 0):
            raise errors.InvalidArgumentError(
                f"twotower: Model.candidate_embeddings: first ({first}) and count ({count}) must be >= 0"
            )
        with self._guard.shared("Model.candidate_embeddings"):
            h = self._h("Model.candidate_embeddings")
            if count is None:
                total = c_size_t()
                lib.tt_model_num_candidates(h, byref(total))
                count = max(total.value - first, 0)
            d = c_size_t()
            lib.tt_model_embedding_dim(h, byref(d))
            out = np.empty((int(count), d.value), np.float32)
            lib.tt_model_candidate_embeddings(
                h, first, int(count), out.ctypes.data_as(POINTER(ctypes.c_float)), out.size
            )
        return out

    def clone(self) -> "Model":
        """An independent deep copy: rebuild its index, quantize or train it while this model
        serves, then install it in a :class:`ModelSlot`. Thread-safe."""
        h = c_void_p()
        with self._guard.shared("Model.clone"):
            lib.tt_model_clone(self._h("Model.clone"), byref(h))
        return Model._adopt(h.value)

    def _embed(self, fn, data: TableLike, what: str) -> np.ndarray:
        with _tables(data) as (tab,):
            n = tab.num_rows
            d = self.embedding_dim
            out = np.empty((n, d), np.float32)
            with self._guard.shared(what):
                fn(self._h(what), tab._h, out.ctypes.data_as(POINTER(ctypes.c_float)), out.size)
        return out

    def embed_queries(self, queries: TableLike) -> np.ndarray:
        """Query-tower embeddings: float32 [rows, embedding_dim]. A query's score for a
        candidate is the dot product of the two embeddings."""
        return self._embed(lib.tt_model_embed_queries, queries, "Model.embed_queries")

    def embed_candidates(self, candidates: TableLike) -> np.ndarray:
        """Candidate-tower embeddings: float32 [rows, embedding_dim]."""
        return self._embed(lib.tt_model_embed_candidates, candidates, "Model.embed_candidates")

    def rebuild_index(self, catalogue: TableLike) -> None:
        """Replaces the candidate index with the rows of ``catalogue`` embedded by the trained
        candidate tower: new items are served without retraining. Ids and keys change to the
        new catalogue's. Needs the model to itself."""
        with _tables(catalogue) as (tab,), self._guard.exclusive("Model.rebuild_index"):
            lib.tt_model_rebuild_index(self._h("Model.rebuild_index"), tab._h)

    def build_ann(
        self,
        partitions: int = 0,
        seed: int = 0,
        iterations: int = 12,
        calibration_queries: Optional[TableLike] = None,
    ) -> None:
        """Builds (or rebuilds) the approximate index: k-means partitions of the candidate
        embeddings, scanned with an int8 copy and re-scored in float32. ``partitions`` 0 means
        about 2 sqrt(candidates). Its recall@100 is calibrated on ``calibration_queries`` (query
        tower columns, up to 256 rows) or on a sample of the candidates. Saved in the model file
        (an optional section older readers skip); index rebuilds keep it. Needs the model to
        itself."""
        o = _capi.AnnOptions()
        lib.tt_ann_options_init(byref(o))
        o.partitions = int(partitions)
        o.seed = int(seed)
        o.iterations = int(iterations)
        if calibration_queries is None:
            with self._guard.exclusive("Model.build_ann"):
                lib.tt_model_build_ann(self._h("Model.build_ann"), byref(o))
            return
        with _tables(calibration_queries) as (tab,), self._guard.exclusive("Model.build_ann"):
            o.calibration_queries = tab._h
            lib.tt_model_build_ann(self._h("Model.build_ann"), byref(o))

    def drop_ann(self) -> None:
        """Removes the approximate index (index rebuilds then make none). Needs the model to itself."""
        with self._guard.exclusive("Model.drop_ann"):
            lib.tt_model_drop_ann(self._h("Model.drop_ann"))

    def ann_partitions(self) -> int:
        """Partitions of the approximate index, 0 when the model has none."""
        out = c_size_t()
        with self._guard.shared("Model.ann_partitions"):
            lib.tt_model_ann_info(self._h("Model.ann_partitions"), 0.0, byref(out), None)
        return int(out.value)

    def ann_probe(self, recall: float) -> int:
        """The breadth (partitions scanned) the calibration found for a recall target; 0 without
        an approximate index."""
        out = c_size_t()
        with self._guard.shared("Model.ann_probe"):
            lib.tt_model_ann_info(self._h("Model.ann_probe"), float(recall), None, byref(out))
        return int(out.value)

    _PRECISIONS = _capi.PRECISIONS

    @property
    def search_precision(self) -> str:
        """The precision queries scan the index at: "float32", "bf16" or "int8". bf16 and int8
        scan a compact copy for queries of up to 8 rows and re-score a shortlist in float32,
        so the answers are float32's top-k, sooner (docs/benchmarks.md). By default, the
        precision the index is stored at if that is bf16 or int8, else float32. Set it to one
        of those names, or to None for the default; needs the model to itself."""
        out = ctypes.c_int32(-1)
        with self._guard.shared("Model.search_precision"):
            lib.tt_model_search_precision(self._h("Model.search_precision"), ctypes.byref(out))
        return {v: k for k, v in self._PRECISIONS.items()}[out.value]

    @search_precision.setter
    def search_precision(self, precision: str | None) -> None:
        if precision is not None and precision not in self._PRECISIONS:
            raise errors.InvalidArgumentError(
                f"search_precision must be 'float32', 'bf16', 'int8' or None, not {precision!r}")
        code = -1 if precision is None else self._PRECISIONS[precision]
        with self._guard.exclusive("Model.search_precision"):
            lib.tt_model_set_search_precision(self._h("Model.search_precision"), code)

    # -- conversion (docs/convert.md) -------------------------------------------------------

    def quantize(self, index: PrecisionLike = None, weights: PrecisionLike = None) -> None:
        """Rounds the candidate index and/or the weights (embedding tables and dense kernels;
        biases stay float32) to a precision: "float32", "bf16", "fp16" or "int8" (None leaves
        that part as it is). The model then answers as a file saved at that precision would,
        and :meth:`save` stores it so. Needs the model to itself."""
        i = _precision_code(index, "Model.quantize", "index")
        w = _precision_code(weights, "Model.quantize", "weights")
        o = _capi.QuantizeOptions()
        lib.tt_quantize_options_init(byref(o))
        o.index_precision = i
        o.weights_precision = w
        with self._guard.exclusive("Model.quantize"):
            lib.tt_model_quantize_v2(self._h("Model.quantize"), byref(o))

    def strip(self) -> None:
        """Drops the optimizer state and the training metadata (data source, seed, epochs,
        metrics, ...); the answers do not change. Needs the model to itself."""
        with self._guard.exclusive("Model.strip"):
            lib.tt_model_strip(self._h("Model.strip"))

    # -- sharded serving (docs/distributed.md, "Sharded serving") ---------------------------

    def shard(self, index: int, count: int) -> None:
        """Keeps shard ``index`` (0 .. count-1) of ``count`` of the candidate index: catalogue
        rows [index*N/count, (index+1)*N/count), with an approximate index rebuilt over the slice.
        From then on candidate ids are catalogue rows: ``query`` returns them, ``exclude`` and
        ``allow`` take them (ids of other shards are ignored), as do ``candidate_key``,
        ``candidate_id`` and ``candidate_embeddings``; keys of other shards in ``exclude_keys``
        and ``allow_keys`` are skipped. ``train`` (warm start) and ``rebuild_index`` refuse a
        shard, and a shard cannot be sharded again. Needs the model to itself."""
        index, count = int(index), int(count)
        if not (0 <= index < 2**32 and 0 <= count < 2**32):
            raise errors.InvalidArgumentError(
                f"twotower: Model.shard: shard {index} of {count}: index and count must be in 0..2^32-1")
        with self._guard.exclusive("Model.shard"):
            lib.tt_model_shard(self._h("Model.shard"), index, count)

    def shard_info(self) -> "ShardInfo":
        """Which slice of the catalogue the index holds: ``ShardInfo(index, count, offset,
        candidates, catalogue_size)``; a whole model is shard 0 of 1."""
        o = _capi.ShardInfo()
        lib.tt_shard_info_init(byref(o))
        with self._guard.shared("Model.shard_info"):
            lib.tt_model_shard_info(self._h("Model.shard_info"), byref(o))
        return ShardInfo(int(o.index), int(o.count), int(o.offset), int(o.candidates), int(o.catalogue_size))

    @property
    def precision(self) -> "Precision":
        """The precisions a save would store: ``Precision(index=..., weights=...)``, each one of
        "float32", "bf16", "fp16", "int8"."""
        i, w = ctypes.c_int32(-1), ctypes.c_int32(-1)
        with self._guard.shared("Model.precision"):
            lib.tt_model_precision(self._h("Model.precision"), byref(i), byref(w))
        return Precision(_precision_name(i.value), _precision_name(w.value))

    def topk_overlap(self, other: "Model", queries: TableLike, k: int = 100) -> float:
        """The mean, over the rows of ``queries``, of the share of the top-``k`` candidates both
        models return (1.0: the same sets). Both must index the same candidates in the same
        order, e.g. a model and its quantized copy."""
        if not isinstance(other, Model):
            raise errors.InvalidArgumentError(
                f"twotower: Model.topk_overlap: other must be a Model, got {type(other).__name__}")
        if isinstance(k, bool) or int(k) < 1:
            raise errors.InvalidArgumentError(f"twotower: Model.topk_overlap: k must be a positive integer, got {k!r}")
        out = ctypes.c_double()
        with _tables(queries) as (qtab,), self._guard.shared("Model.topk_overlap"), \
                other._guard.shared("Model.topk_overlap"):
            lib.tt_model_topk_overlap(self._h("Model.topk_overlap"), other._h("Model.topk_overlap"), qtab._h,
                                      int(k), byref(out))
        return float(out.value)

    def export(
        self,
        directory: Union[str, os.PathLike],
        queries: Optional[TableLike] = None,
        npy: bool = True,
        fvecs: bool = True,
        candidates: bool = True,
        weights: bool = True,
        preprocessing: bool = True,
    ) -> None:
        """Writes the model as files NumPy, Faiss and PyTorch read into ``directory`` (created
        if needed): candidate_embeddings.npy/.fvecs and candidate_keys.txt (``candidates``),
        weights.safetensors (``weights``), spec.json, preprocessing.json and vocab/
        (``preprocessing``); with ``queries``, query_embeddings.* of those rows too.
        ``npy``/``fvecs`` choose the embedding formats. :func:`import_model` reads it back."""
        o = _capi.ExportOptions()
        lib.tt_export_options_init(byref(o))
        o.npy, o.fvecs = int(bool(npy)), int(bool(fvecs))
        o.candidates, o.weights, o.preprocessing = int(bool(candidates)), int(bool(weights)), int(bool(preprocessing))
        with contextlib.ExitStack() as stack:
            if queries is not None:
                (qtab,) = stack.enter_context(_tables(queries))
                o.queries = qtab._h
            stack.enter_context(self._guard.shared("Model.export"))
            lib.tt_model_export(self._h("Model.export"), _capi.encode_path(directory), byref(o))

    @classmethod
    def import_model(
        cls,
        directory: Optional[Union[str, os.PathLike]] = None,
        spec: Optional[Union[str, os.PathLike]] = None,
        preprocessing: Optional[Union[str, os.PathLike]] = None,
        weights: Optional[Union[str, os.PathLike]] = None,
        candidates: Optional[TableLike] = None,
        interactions: Optional[TableLike] = None,
        threads: int = 0,
    ) -> "Model":
        """A model from a spec, preprocessing state and weights: the files :meth:`export`
        writes, or those of a model trained elsewhere (docs/convert.md). ``spec``,
        ``preprocessing``, ``weights``: file paths (default: spec.json, preprocessing.json,
        weights.safetensors or weights.npz in ``directory``). ``candidates``: build the index
        from these rows (default: read candidate_embeddings.npy/.fvecs and candidate_keys.txt);
        ``interactions``: fit the features that have no stored state on them."""
        o = _capi.ImportOptions()
        lib.tt_import_options_init(byref(o))
        o.spec_path = None if spec is None else _capi.encode_path(spec)
        o.preprocessing_path = None if preprocessing is None else _capi.encode_path(preprocessing)
        o.weights_path = None if weights is None else _capi.encode_path(weights)
        o.threads = int(threads)
        h = c_void_p()
        with contextlib.ExitStack() as stack:
            if candidates is not None:
                (ctab,) = stack.enter_context(_tables(candidates))
                o.candidates = ctab._h
            if interactions is not None:
                (itab,) = stack.enter_context(_tables(interactions))
                o.interactions = itab._h
            lib.tt_model_import(None if directory is None else _capi.encode_path(directory), byref(o), byref(h))
        return cls._adopt(h.value)

    def __repr__(self) -> str:
        if self._handle is None:
            return "<twotower.Model closed>"
        try:
            name = self.metadata.get("spec_name", "")
            return f"<twotower.Model {name!r} dim={self.embedding_dim} candidates={self.num_candidates}>"
        except errors.Error:
            return "<twotower.Model>"


class ModelSlot:
    """Holds the model a service answers with while a reloader replaces it (``tt_model_slot``;
    docs/c-api.md, "Replacing a served model").

    ``acquire()`` returns ``(model, generation)``: the current model as a :class:`Model` of its
    own, holding a library reference until it is closed (use ``with``), and the number of
    models installed so far. ``replace(model)`` installs another and returns its generation;
    the previous model is freed by the library once the last request that acquired it closes
    it. A model given to the slot is taken over (its object is closed), so that nobody trains
    or rebuilds a model that requests read: change a ``clone()`` instead. The library
    synchronises with a mutex held only to copy a pointer and count a reference, never during
    a query, so neither side starves the other::

        slot = twotower.ModelSlot(twotower.Model.load("model.tt"))
        with slot.acquire()[0] as model:            # per request, any thread
            ids, scores = model.query(queries)
        slot.replace(twotower.Model.load("model.tt"))  # on reload; the slot takes it over
    """

    def __init__(self, model: Optional[Model] = None):
        self._lib = lib
        self._handle: Optional[int] = None
        self._lock = threading.Lock()  # guards the handle against close only
        h = c_void_p()
        if model is None:
            lib.tt_model_slot_create(None, byref(h))
        else:
            with model._guard.shared("ModelSlot"):
                lib.tt_model_slot_create(model._h("ModelSlot"), byref(h))
            model.close()  # the slot holds its own reference
        self._handle = h.value

    def _h(self, what: str) -> int:
        h = self._handle
        if h is None:
            raise errors.InvalidArgumentError(f"twotower: {what}: the model slot is closed")
        return h

    def acquire(self) -> tuple[Model, int]:
        out, gen = c_void_p(), ctypes.c_uint64()
        with self._lock:
            lib.tt_model_slot_acquire(self._h("ModelSlot.acquire"), byref(out), byref(gen))
        return Model._adopt(out.value), int(gen.value)

    def replace(self, model: Optional[Model]) -> int:
        gen = ctypes.c_uint64()
        if model is None:
            with self._lock:
                lib.tt_model_slot_replace(self._h("ModelSlot.replace"), None, byref(gen))
        else:
            with model._guard.shared("ModelSlot.replace"), self._lock:
                lib.tt_model_slot_replace(self._h("ModelSlot.replace"), model._h("ModelSlot.replace"), byref(gen))
            model.close()  # the slot holds its own reference
        return int(gen.value)

    def close(self) -> None:
        """Releases the slot's reference to its model (acquired models stay usable)."""
        with self._lock:
            h, self._handle = self._handle, None
        if h is not None:
            self._lib.tt_model_slot_free(h)

    def __enter__(self) -> "ModelSlot":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


@contextlib.contextmanager
def _tables(*data: TableLike) -> Iterator[tuple[Table, ...]]:
    """Tables for the arguments, closing those built here from mappings afterwards."""
    made: list[Table] = []
    try:
        out = []
        for d in data:
            t, owned = as_table(d)
            if owned:
                made.append(t)
            out.append(t)
        yield tuple(out)
    finally:
        for t in made:
            t.close()


class Precision(NamedTuple):
    """The storage precisions of a model's index and weights ("float32", "bf16", "fp16" or
    "int8"), as :attr:`Model.precision` reports them."""

    index: str
    weights: str


class ShardInfo(NamedTuple):
    """A model's shard (:meth:`Model.shard_info`): shard ``index`` of ``count`` holds catalogue
    rows ``offset`` .. ``offset + candidates - 1`` of ``catalogue_size``."""

    index: int
    count: int
    offset: int
    candidates: int
    catalogue_size: int


def merge_topk(answers: Sequence[tuple[Any, Any]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Merges the shards' answers to the same queries into the top ``k`` per row: ``answers``
    holds one ``(ids, scores)`` pair per shard, as :meth:`Model.query` returned them ([rows,
    k_s] arrays; id -1 marks an empty slot). Returns ``(ids, scores)`` [rows, k], best first,
    higher score then lower id, -1 / -inf beyond the entries: merging the exact answers (each
    shard asked for at least k) of every shard gives the unsharded model's answer bit for bit.
    An id twice in one row (shards that overlap), an id below -1 or a NaN score raises
    InvalidArgumentError naming the list, row and slot."""
    k = int(k)
    if k < 1:
        raise errors.InvalidArgumentError(f"twotower: merge_topk: k is {k}; it must be >= 1")
    lists = []
    for s, (ids, scores) in enumerate(answers):
        ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        scores = np.ascontiguousarray(np.asarray(scores, dtype=np.float32))
        if ids.ndim != 2 or ids.shape != scores.shape:
            raise errors.InvalidArgumentError(
                f"twotower: merge_topk: answer {s}: ids {ids.shape} and scores {scores.shape} must be [rows, k] alike")
        lists.append((ids, scores))
    rows = lists[0][0].shape[0] if lists else 0
    k_in = max((ids.shape[1] for ids, _ in lists), default=0)
    padded = []
    for s, (ids, scores) in enumerate(lists):
        if ids.shape[0] != rows:
            raise errors.InvalidArgumentError(
                f"twotower: merge_topk: answer {s} has {ids.shape[0]} rows, answer 0 has {rows}")
        pi = np.full((rows, k_in), -1, np.int64)
        ps = np.full((rows, k_in), -np.inf, np.float32)
        pi[:, : ids.shape[1]] = ids
        ps[:, : scores.shape[1]] = scores
        padded.append((pi, ps))
    id_ptrs = (_capi._i64p * max(len(padded), 1))(*[p.ctypes.data_as(_capi._i64p) for p, _ in padded])
    score_ptrs = (_capi._f32p * max(len(padded), 1))(*[q.ctypes.data_as(_capi._f32p) for _, q in padded])
    out_ids, out_scores, ids_p, scores_p = _results(rows, k)
    lib.tt_topk_merge(id_ptrs, score_ptrs, len(padded), rows, k_in, k, ids_p, scores_p)
    return out_ids, out_scores


# "f32" as the CLI spells it (twotower convert --quantize f32).
_PRECISION_ALIASES = {"f32": "float32"}


def _precision_code(precision: PrecisionLike, what: str, field: str) -> int:
    """The tt_precision value of a name; None: TT_PRECISION_KEEP. An int is passed to the C
    library as it is (which checks it)."""
    if precision is None:
        return _capi.PRECISION_KEEP
    if isinstance(precision, int) and not isinstance(precision, bool):
        return precision
    name = _PRECISION_ALIASES.get(precision, precision) if isinstance(precision, str) else precision
    if name not in _capi.PRECISIONS:
        raise errors.InvalidArgumentError(
            f"twotower: {what}: {field} must be 'float32', 'bf16', 'fp16', 'int8' or None, not {precision!r}")
    return _capi.PRECISIONS[name]


def _precision_name(code: int) -> str:
    for name, value in _capi.PRECISIONS.items():
        if value == code:
            return name
    raise errors.InternalError(f"twotower: the library reported precision {code}, which this package does not know")


def convert(
    input: Union[str, os.PathLike],
    output: Union[str, os.PathLike],
    index_precision: PrecisionLike = None,
    weights_precision: PrecisionLike = None,
    strip: bool = False,
    compression_level: int = 3,
    ann: Optional[bool] = None,
    ann_partitions: int = 0,
    shard: Optional[tuple[int, int]] = None,
) -> None:
    """Reads a model file of any format version this library reads and writes it to
    ``output`` in the current version, atomically (on any error no output file appears):
    ``index_precision``/``weights_precision`` ("float32", "bf16", "fp16", "int8"; None keeps
    the file's) quantize, ``strip`` drops optimizer state and training metadata,
    ``compression_level`` is the zstd level 0 (raw) .. 19. With the defaults it is an upgrade.
    ``output`` must not be the input file. ``ann`` True builds (or rebuilds) the approximate
    index (``ann_partitions`` partitions, 0: about 2 sqrt(candidates)), False drops it, None
    keeps what the file has. ``shard=(i, S)`` writes shard i of S of the candidate index, as
    :meth:`Model.shard` does. Same as ``twotower convert``."""
    o = _capi.ConvertOptions()
    lib.tt_convert_options_init(byref(o))
    o.index_precision = _precision_code(index_precision, "convert", "index_precision")
    o.weights_precision = _precision_code(weights_precision, "convert", "weights_precision")
    o.strip = int(bool(strip))
    o.compression_level = int(compression_level)
    o.ann = 0 if ann is None else (1 if ann else -1)
    o.ann_partitions = int(ann_partitions)
    if shard is not None:
        i, count = int(shard[0]), int(shard[1])
        if not (0 <= i < 2**32 and 0 <= count < 2**32):
            raise errors.InvalidArgumentError(f"twotower: convert: shard ({i}, {count}) must be in 0..2^32-1")
        o.shard_index, o.shard_count = i, count
    lib.tt_model_convert(_capi.encode_path(input), _capi.encode_path(output), byref(o))


import_model = Model.import_model
