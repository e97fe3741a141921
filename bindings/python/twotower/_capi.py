"""ctypes declarations of the C API (include/twotower/twotower.h, TT_ABI_VERSION 1) and the
loading of libtwotower.so.

Every function is called through ``ctypes.CDLL``, which releases the GIL for the duration of
each call: training, evaluation, queries, saving and loading run while other Python threads
keep going. The progress callback is a ``CFUNCTYPE`` trampoline, which takes the GIL back
while the Python function runs.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

from . import errors
from ._version import __version__

# The C ABI this module's declarations were written against (TT_ABI_VERSION).
ABI_VERSION = 1
TT_MAX_K = 16

DTYPE_STRING = 0
DTYPE_INT64 = 1
DTYPE_FLOAT32 = 2

LIBRARY_ENV = "TWOTOWER_LIBRARY"
BUNDLED_LIBRARY = Path(__file__).resolve().parent / "libtwotower.so"


class Metrics(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("count", c_size_t),
        ("k", c_uint32 * TT_MAX_K),
        ("accuracy", c_double * TT_MAX_K),
        ("examples", c_uint64),
        ("has_baseline", c_int32),
        ("baseline_accuracy", c_double * TT_MAX_K),
    ]


class Progress(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epoch", c_uint32),
        ("epochs", c_uint32),
        ("batch", c_uint32),
        ("batches", c_uint32),
        ("epoch_done", c_int32),
        ("loss", c_double),
        ("has_metrics", c_int32),
        ("metrics", Metrics),
    ]


# int (*tt_progress_fn)(const tt_progress*, void*)
PROGRESS_FN = CFUNCTYPE(c_int, POINTER(Progress), c_void_p)


class TrainOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("epochs", c_uint32),
        ("eval_every", c_int32),
        ("seed", c_uint64),
        ("seed_set", c_int32),
        ("threads", c_int32),
        ("progress", PROGRESS_FN),
        ("user_data", c_void_p),
        ("reset", c_int32),
    ]


class StreamOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("shuffle_buffer_rows", c_uint64),
        ("memory_limit", c_uint64),
    ]


class EvalOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("distinct_candidates", c_int32),
        ("k", POINTER(c_uint32)),
        ("k_count", c_size_t),
        ("batch_size", c_size_t),
    ]


class LoadOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("threads", c_int32),
    ]


class QuantizeOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("index_precision", c_int32),
        ("weights_precision", c_int32),
    ]


class SaveOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("compression_level", c_int32),
        ("include_optimizer", c_int32),
    ]


class QueryOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("k", c_size_t),
        ("exclude", POINTER(POINTER(c_int64))),
        ("exclude_counts", POINTER(c_size_t)),
        ("allow", POINTER(c_int64)),
        ("allow_count", c_size_t),
        ("capacity", c_size_t),
        ("recall", c_double),
        ("probe", c_size_t),
        ("rescore", c_size_t),
        ("exclude_keys", POINTER(POINTER(c_char_p))),
        ("exclude_key_counts", POINTER(c_size_t)),
        ("allow_keys", POINTER(c_char_p)),
        ("allow_key_count", c_size_t),
        ("ignore_unknown_keys", c_int32),
    ]


class AnnOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("partitions", c_uint32),
        ("iterations", c_uint32),
        ("seed", c_uint64),
        ("calibration_queries", c_void_p),
    ]


class IndexOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("precision", c_int32),
        ("threads", c_int32),
    ]


class ConvertOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("index_precision", c_int32),
        ("weights_precision", c_int32),
        ("strip", c_int32),
        ("compression_level", c_int32),
        ("ann", c_int32),
        ("ann_partitions", c_uint32),
        ("shard_index", c_uint32),
        ("shard_count", c_uint32),
    ]


class ShardInfo(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("index", c_uint32),
        ("count", c_uint32),
        ("offset", ctypes.c_uint64),
        ("candidates", ctypes.c_uint64),
        ("catalogue_size", ctypes.c_uint64),
    ]


class ExportOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("queries", c_void_p),
        ("npy", c_int32),
        ("fvecs", c_int32),
        ("candidates", c_int32),
        ("weights", c_int32),
        ("preprocessing", c_int32),
    ]


class ImportOptions(Structure):
    _fields_ = [
        ("struct_size", c_size_t),
        ("spec_path", c_char_p),
        ("preprocessing_path", c_char_p),
        ("weights_path", c_char_p),
        ("candidates", c_void_p),
        ("interactions", c_void_p),
        ("threads", c_int32),
    ]


# tt_precision values and TT_PRECISION_KEEP.
PRECISION_KEEP = -1
PRECISIONS = {"float32": 0, "bf16": 1, "fp16": 2, "int8": 3}


_status = c_int
_handle = c_void_p
_out_handle = POINTER(c_void_p)
_f32p = POINTER(ctypes.c_float)
_i64p = POINTER(c_int64)

# name: (restype, argtypes). restype _status means "raise on failure".
_SIGNATURES = {
    "tt_last_error": (c_char_p, []),
    "tt_status_name": (c_char_p, [c_int]),
    "tt_version": (c_uint32, []),
    "tt_version_string": (c_char_p, []),
    "tt_abi_version": (c_uint32, []),
    "tt_model_format_version": (c_uint32, []),
    "tt_model_format_min_version": (c_uint32, []),
    # tables
    "tt_table_create": (_status, [_out_handle]),
    "tt_table_free": (None, [_handle]),
    "tt_table_append_strings": (_status, [_handle, c_char_p, POINTER(c_char_p), c_size_t]),
    "tt_table_append_int64": (_status, [_handle, c_char_p, _i64p, c_size_t]),
    "tt_table_append_float32": (_status, [_handle, c_char_p, _f32p, c_size_t]),
    "tt_table_num_rows": (_status, [_handle, POINTER(c_size_t)]),
    "tt_table_validate": (_status, [_handle]),
    "tt_table_num_columns": (_status, [_handle, POINTER(c_size_t)]),
    "tt_table_column_info": (_status, [_handle, c_size_t, POINTER(c_char_p), POINTER(c_int), POINTER(c_size_t)]),
    "tt_table_get_strings": (_status, [_handle, c_char_p, c_size_t, c_size_t, POINTER(c_char_p)]),
    "tt_table_get_int64": (_status, [_handle, c_char_p, c_size_t, c_size_t, _i64p]),
    "tt_table_get_float32": (_status, [_handle, c_char_p, c_size_t, c_size_t, _f32p]),
    "tt_table_read_file": (_status, [c_char_p, POINTER(c_char_p), POINTER(c_int), c_size_t, _out_handle]),
    "tt_table_write_columnar": (_status, [_handle, c_char_p]),
    "tt_data_convert": (_status, [c_char_p, c_char_p, POINTER(c_char_p), POINTER(c_int), c_size_t]),
    "tt_load_movielens": (_status, [c_char_p, _out_handle, _out_handle]),
    # models
    "tt_model_create": (_status, [c_char_p, _out_handle]),
    "tt_model_create_from_file": (_status, [c_char_p, _out_handle]),
    "tt_model_free": (None, [_handle]),
    "tt_model_retain": (_status, [_handle]),
    "tt_model_release": (None, [_handle]),
    "tt_model_clone": (_status, [_handle, _out_handle]),
    "tt_model_slot_create": (_status, [_handle, _out_handle]),
    "tt_model_slot_free": (None, [_handle]),
    "tt_model_slot_acquire": (_status, [_handle, _out_handle, POINTER(ctypes.c_uint64)]),
    "tt_model_slot_replace": (_status, [_handle, _handle, POINTER(ctypes.c_uint64)]),
    "tt_metrics_init": (None, [c_void_p]),
    "tt_metrics_at_k": (_status, [POINTER(Metrics), c_uint32, POINTER(c_double)]),
    "tt_train_options_init": (None, [c_void_p]),
    "tt_model_train": (_status, [_handle, _handle, _handle, POINTER(TrainOptions), POINTER(Metrics)]),
    "tt_stream_options_init": (None, [c_void_p]),
    "tt_model_train_streamed": (
        _status,
        [_handle, c_char_p, _handle, POINTER(TrainOptions), POINTER(StreamOptions), POINTER(Metrics)],
    ),
    "tt_eval_options_init": (None, [c_void_p]),
    "tt_model_evaluate_v2": (_status, [_handle, _handle, _handle, POINTER(EvalOptions), POINTER(Metrics)]),
    "tt_model_set_threads": (_status, [_handle, c_int32]),
    "tt_model_threads": (_status, [_handle, POINTER(c_int32)]),
    "tt_save_options_init": (None, [c_void_p]),
    "tt_model_save": (_status, [_handle, c_char_p, POINTER(SaveOptions)]),
    "tt_model_save_to_buffer": (_status, [_handle, POINTER(SaveOptions), POINTER(c_void_p), POINTER(c_size_t)]),
    "tt_buffer_free": (None, [c_void_p]),
    "tt_load_options_init": (None, [c_void_p]),
    "tt_model_load_v2": (_status, [c_char_p, POINTER(LoadOptions), _out_handle]),
    "tt_model_load_from_buffer_v2": (_status, [c_char_p, c_size_t, POINTER(LoadOptions), _out_handle]),
    "tt_model_spec_json": (_status, [_handle, POINTER(c_char_p)]),
    "tt_model_metadata_json": (_status, [_handle, POINTER(c_char_p)]),
    # queries
    "tt_model_embedding_dim": (_status, [_handle, POINTER(c_size_t)]),
    "tt_model_num_candidates": (_status, [_handle, POINTER(c_size_t)]),
    "tt_model_candidate_key": (_status, [_handle, c_int64, POINTER(c_char_p)]),
    "tt_model_candidate_id": (_status, [_handle, c_char_p, _i64p]),
    "tt_model_candidate_embeddings": (_status, [_handle, c_size_t, c_size_t, _f32p, c_size_t]),
    "tt_query_options_init": (None, [c_void_p]),
    "tt_model_query": (_status, [_handle, _handle, POINTER(QueryOptions), _i64p, _f32p]),
    "tt_model_embed_queries": (_status, [_handle, _handle, _f32p, c_size_t]),
    "tt_model_embed_candidates": (_status, [_handle, _handle, _f32p, c_size_t]),
    "tt_model_rebuild_index": (_status, [_handle, _handle]),
    "tt_model_set_search_precision": (_status, [_handle, ctypes.c_int32]),
    "tt_model_search_precision": (_status, [_handle, POINTER(ctypes.c_int32)]),
    # approximate index
    "tt_ann_options_init": (None, [c_void_p]),
    "tt_model_build_ann": (_status, [_handle, POINTER(AnnOptions)]),
    "tt_model_drop_ann": (_status, [_handle]),
    "tt_model_ann_info": (_status, [_handle, c_double, POINTER(c_size_t), POINTER(c_size_t)]),
    # search by vectors, the standalone vector index
    "tt_model_query_vectors": (_status, [_handle, _f32p, c_size_t, c_size_t, POINTER(QueryOptions), _i64p, _f32p]),
    "tt_index_options_init": (None, [c_void_p]),
    "tt_index_create": (_status, [c_size_t, POINTER(IndexOptions), _out_handle]),
    "tt_index_free": (None, [_handle]),
    "tt_index_add": (_status, [_handle, _f32p, c_size_t, c_size_t, _i64p]),
    "tt_index_search": (_status, [_handle, _f32p, c_size_t, c_size_t, POINTER(QueryOptions), _i64p, _f32p]),
    "tt_index_size": (_status, [_handle, POINTER(c_size_t)]),
    "tt_index_dim": (_status, [_handle, POINTER(c_size_t)]),
    "tt_index_precision": (_status, [_handle, POINTER(c_int32)]),
    "tt_index_build_ann": (_status, [_handle, POINTER(AnnOptions), _f32p, c_size_t, c_size_t]),
    "tt_index_drop_ann": (_status, [_handle]),
    "tt_index_ann_info": (_status, [_handle, c_double, POINTER(c_size_t), POINTER(c_size_t)]),
    "tt_index_save": (_status, [_handle, c_char_p, POINTER(SaveOptions)]),
    "tt_index_load": (_status, [c_char_p, POINTER(IndexOptions), _out_handle]),
    # sharded serving
    "tt_shard_info_init": (None, [c_void_p]),
    "tt_model_shard": (_status, [_handle, c_uint32, c_uint32]),
    "tt_model_shard_info": (_status, [_handle, POINTER(ShardInfo)]),
    "tt_topk_merge": (_status, [POINTER(_i64p), POINTER(_f32p), c_size_t, c_size_t, c_size_t, c_size_t, _i64p, _f32p]),
    # conversion
    "tt_convert_options_init": (None, [c_void_p]),
    "tt_model_convert": (_status, [c_char_p, c_char_p, POINTER(ConvertOptions)]),
    "tt_quantize_options_init": (None, [c_void_p]),
    "tt_model_quantize_v2": (_status, [_handle, POINTER(QuantizeOptions)]),
    "tt_model_strip": (_status, [_handle]),
    "tt_model_precision": (_status, [_handle, POINTER(c_int32), POINTER(c_int32)]),
    "tt_model_topk_overlap": (_status, [_handle, _handle, _handle, c_size_t, POINTER(c_double)]),
    "tt_export_options_init": (None, [c_void_p]),
    "tt_model_export": (_status, [_handle, c_char_p, POINTER(ExportOptions)]),
    "tt_import_options_init": (None, [c_void_p]),
    "tt_model_import": (_status, [c_char_p, POINTER(ImportOptions), _out_handle]),
}

# Option and output structs whose size the library must agree on (checked at load).
_STRUCTS = {
    "tt_metrics_init": Metrics,
    "tt_train_options_init": TrainOptions,
    "tt_stream_options_init": StreamOptions,
    "tt_save_options_init": SaveOptions,
    "tt_query_options_init": QueryOptions,
    "tt_convert_options_init": ConvertOptions,
    "tt_ann_options_init": AnnOptions,
    "tt_index_options_init": IndexOptions,
    "tt_export_options_init": ExportOptions,
    "tt_import_options_init": ImportOptions,
    "tt_eval_options_init": EvalOptions,
    "tt_load_options_init": LoadOptions,
    "tt_quantize_options_init": QuantizeOptions,
    "tt_shard_info_init": ShardInfo,
}


def _text(b: bytes | None) -> str:
    return b.decode("utf-8", "replace") if b else ""


class Library:
    """A loaded libtwotower.so with every function declared; ``lib.tt_*`` are the raw ctypes
    functions (those returning tt_status raise :class:`twotower.Error` on failure)."""

    def __init__(self, path: str, expected_abi: int | None = None, expected_version: str | None = None):
        # Read at call time, so that tests can monkeypatch ABI_VERSION and __version__.
        expected_abi = ABI_VERSION if expected_abi is None else expected_abi
        expected_version = __version__ if expected_version is None else expected_version
        self.path = str(path)
        try:
            self._dll = ctypes.CDLL(self.path)
        except OSError as e:
            raise errors.LibraryError(f"twotower: cannot load the C library {self.path}: {e}") from e
        missing = [name for name in _SIGNATURES if not hasattr(self._dll, name)]
        if "tt_abi_version" in missing:
            raise errors.LibraryError(f"twotower: {self.path} is not a twotower library (no tt_abi_version)")
        self._dll.tt_abi_version.restype = c_uint32
        self._dll.tt_abi_version.argtypes = []
        abi = int(self._dll.tt_abi_version())
        if abi != expected_abi:
            raise errors.LibraryError(
                f"twotower: {self.path} implements C ABI version {abi}, but this Python package "
                f"(twotower {expected_version}) was written for ABI version {expected_abi}; "
                f"install the package built with that library, or point {LIBRARY_ENV} at a "
                f"matching libtwotower.so"
            )
        if missing:
            raise errors.LibraryError(f"twotower: {self.path} lacks {', '.join(missing)}")
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(self._dll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            if restype is _status:
                fn.errcheck = self._errcheck
            setattr(self, name, fn)
        self.version = _text(self.tt_version_string())
        if self.version != expected_version:
            raise errors.LibraryError(
                f"twotower: {self.path} is library version {self.version}, but this Python package "
                f"is version {expected_version}; they must match (rebuild the package against "
                f"the library, or point {LIBRARY_ENV} at libtwotower.so {expected_version})"
            )
        for init_name, struct in _STRUCTS.items():
            buf = ctypes.create_string_buffer(ctypes.sizeof(struct) + 512)  # room for a larger struct
            getattr(self, init_name)(ctypes.byref(buf))
            size = ctypes.c_size_t.from_buffer(buf).value
            if size != ctypes.sizeof(struct):
                raise errors.LibraryError(
                    f"twotower: {self.path}: {init_name} reports a struct of {size} bytes, this "
                    f"package declares {ctypes.sizeof(struct)} (a library built for another ABI)"
                )

    def _errcheck(self, result, func, args):
        if result != errors.OK:
            raise self.error(result)
        return result

    def error(self, status: int) -> errors.Error:
        """The exception for `status`, with this thread's tt_last_error() message."""
        message = _text(self.tt_last_error())
        name = _text(self.tt_status_name(status))
        return errors.error_for_status(status, message or name, name)


def library_path() -> str:
    """Where libtwotower.so is taken from: $TWOTOWER_LIBRARY, else the copy bundled with the
    package."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        if not os.path.exists(env):
            raise errors.LibraryError(f"twotower: {LIBRARY_ENV}={env} does not exist")
        return env
    if BUNDLED_LIBRARY.exists():
        return str(BUNDLED_LIBRARY)
    raise errors.LibraryError(
        f"twotower: no C library: {BUNDLED_LIBRARY} is missing (the package was not installed with "
        f"`pip install bindings/python`) and {LIBRARY_ENV} is not set to a libtwotower.so"
    )


def load(path: str | None = None) -> Library:
    return Library(path or library_path())


def encode_path(path) -> bytes:
    return os.fsencode(os.fspath(path))
