"""twotower: train, save, load and query two-tower retrieval models.

A Python binding over the library's C API (libtwotower.so, loaded with ctypes). Every call into
the library releases the GIL; the progress callback of ``Model.train`` takes it back while it
runs. See bindings/python/README.md.
"""

from ._version import __version__
from .errors import (
    CancelledError,
    CorruptModelError,
    Error,
    InternalError,
    InvalidArgumentError,
    IoError,
    LibraryError,
    OutOfMemoryError,
    ParseError,
    UnsupportedError,
)
from ._runtime import lib as _lib
from .table import FLOAT32, INT64, STRING, Table, convert_data, load_movielens
from .model import Metrics, Model, ModelSlot, Precision, Progress, ShardInfo, convert, import_model, merge_topk
from .index import VectorIndex

#: The C ABI version this package was written for (TT_ABI_VERSION).
from ._capi import ABI_VERSION  # noqa: E402

#: The libtwotower.so in use.
library_path = _lib.path


def library_version() -> str:
    """The C library's version string (equal to ``__version__``)."""
    return _lib.version


def model_format_version() -> int:
    """The model file format version this library writes."""
    return int(_lib.tt_model_format_version())


def model_format_min_version() -> int:
    """The oldest model file format version this library reads."""
    return int(_lib.tt_model_format_min_version())


__all__ = [
    "__version__",
    "ABI_VERSION",
    "library_path",
    "library_version",
    "model_format_version",
    "model_format_min_version",
    "Table",
    "load_movielens",
    "convert_data",
    "STRING",
    "INT64",
    "FLOAT32",
    "Model",
    "VectorIndex",
    "ModelSlot",
    "Metrics",
    "Progress",
    "Precision",
    "convert",
    "import_model",
    "merge_topk",
    "ShardInfo",
    "Error",
    "InvalidArgumentError",
    "IoError",
    "ParseError",
    "CorruptModelError",
    "UnsupportedError",
    "CancelledError",
    "InternalError",
    "OutOfMemoryError",
    "LibraryError",
]
