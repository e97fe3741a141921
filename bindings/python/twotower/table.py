"""Tables: named columns of strings, int64 or float32 values, all of one length."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping
from ctypes import POINTER, byref, c_char_p, c_int, c_int64, c_size_t, c_void_p
from typing import Any, Iterable

import numpy as np

from . import _capi, errors
from ._runtime import lib

__all__ = ["Table", "load_movielens", "STRING", "INT64", "FLOAT32"]

STRING = "string"
INT64 = "int64"
FLOAT32 = "float32"

_CODES = {STRING: _capi.DTYPE_STRING, INT64: _capi.DTYPE_INT64, FLOAT32: _capi.DTYPE_FLOAT32}
_TYPES = {code: name for name, code in _CODES.items()}


def _dtype_name(dtype: Any) -> str:
    """'string' | 'int64' | 'float32' from a name, a Python type or a numpy dtype."""
    if isinstance(dtype, str):
        key = dtype.lower()
        if key in ("string", "str", "unicode", "text"):
            return STRING
        if key in ("int64", "int", "integer"):
            return INT64
        if key in ("float32", "float"):
            return FLOAT32
    elif dtype is str or dtype is bytes:
        return STRING
    elif dtype is int:
        return INT64
    elif dtype is float:
        return FLOAT32
    else:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
        if dt is not None:
            if dt.kind in "USO":
                return STRING
            if dt == np.int64:
                return INT64
            if dt == np.float32:
                return FLOAT32
    raise errors.InvalidArgumentError(
        f"twotower: unknown column type {dtype!r}: use 'string', 'int64' or 'float32'"
    )


def _infer(column: str, values: Any) -> str:
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind in "US":
            return STRING
        if kind in "iu":
            return INT64
        if kind == "f":
            return FLOAT32
        if kind != "O":
            raise errors.InvalidArgumentError(
                f"twotower: column {column!r}: cannot store numpy dtype {values.dtype}; "
                f"convert it to str, int64 or float32"
            )
    kinds = set()
    for v in values:
        if isinstance(v, (str, bytes, np.str_, np.bytes_)):
            kinds.add(STRING)
        elif isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (int, np.integer)):
            kinds.add(INT64)
        elif isinstance(v, (float, np.floating)):
            kinds.add(FLOAT32)
        else:
            kinds.add(type(v).__name__)
    if kinds == {STRING}:
        return STRING
    if kinds == {INT64}:
        return INT64
    if kinds and kinds <= {INT64, FLOAT32}:
        return FLOAT32
    if not kinds:
        raise errors.InvalidArgumentError(
            f"twotower: column {column!r}: cannot infer the type of an empty column; pass dtype"
        )
    raise errors.InvalidArgumentError(
        f"twotower: column {column!r}: values of types {sorted(kinds)} do not make a string, "
        f"int64 or float32 column"
    )


def _as_strings(column: str, values: Any) -> list[bytes]:
    out = []
    for i, v in enumerate(values.tolist() if isinstance(values, np.ndarray) else values):
        if isinstance(v, str):
            out.append(v.encode("utf-8"))
        elif isinstance(v, bytes):
            out.append(v)
        else:
            raise errors.InvalidArgumentError(
                f"twotower: column {column!r}: row {i} is {v!r}, not a string"
            )
        if b"\0" in out[-1]:
            raise errors.InvalidArgumentError(f"twotower: column {column!r}: row {i} contains a NUL character")
    return out


def _as_numeric(column: str, values: Any, dtype: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise errors.InvalidArgumentError(f"twotower: column {column!r}: values must be one-dimensional")
    if arr.size == 0:
        return np.zeros(0, np.int64 if dtype == INT64 else np.float32)
    if arr.dtype.kind == "O":
        arr = np.array(arr.tolist())
    kind = arr.dtype.kind
    if dtype == INT64:
        if kind == "u" and arr.max() > np.iinfo(np.int64).max:
            raise errors.InvalidArgumentError(f"twotower: column {column!r}: a value exceeds int64")
        if kind not in "iu":
            raise errors.InvalidArgumentError(
                f"twotower: column {column!r}: an int64 column needs integers, got {arr.dtype}"
            )
        return np.ascontiguousarray(arr, dtype=np.int64)
    if kind not in "iuf":
        raise errors.InvalidArgumentError(
            f"twotower: column {column!r}: a float32 column needs numbers, got {arr.dtype}"
        )
    return np.ascontiguousarray(arr, dtype=np.float32)


class Table:
    """Named columns of strings, int64 or float32 values (a ``tt_table``).

    ``Table({"user_id": ["1", "2"], "timestamp": np.array([5, 6])})`` builds one from a mapping
    of column name to values (numpy arrays, lists, or anything with ``.items()``, such as a
    pandas DataFrame). Types are inferred -- str -> string, integers -> int64, floats ->
    float32 -- unless ``dtypes`` says otherwise ({column: "string" | "int64" | "float32"}).
    ``columns`` and ``column(name)`` read a table back (e.g. one ``read_file`` made). Not
    synchronised: do not append while another thread uses the table.
    """

    def __init__(self, data: Mapping[str, Iterable] | None = None, dtypes: Mapping[str, Any] | None = None):
        self._lib = lib
        self._handle: int | None = None
        self._types: dict[str, str] = {}
        h = c_void_p()
        lib.tt_table_create(byref(h))
        self._handle = h.value
        if data is not None:
            dtypes = dict(dtypes or {})
            for column, values in data.items():
                self.append(column, values, dtypes.pop(column, None))
            if dtypes:
                raise errors.InvalidArgumentError(f"twotower: dtypes names columns not in data: {sorted(dtypes)}")

    @classmethod
    def _adopt(cls, handle: int, types: dict[str, str]) -> "Table":
        t = cls.__new__(cls)
        t._lib = lib
        t._handle = handle
        t._types = dict(types)
        return t

    @classmethod
    def read_file(cls, path: str | os.PathLike, columns: Mapping[str, Any]) -> "Table":
        """Reads a CSV (RFC 4180) or TSV (.tsv/.tab) file with a header row, or a columnar data
        file (docs/data-format.md; recognised by its first bytes). ``columns`` maps each column
        to read to its type; other columns are ignored. Errors name the file, line and column."""
        if not columns:
            raise errors.InvalidArgumentError("twotower: Table.read_file needs at least one column")
        types = {str(c): _dtype_name(t) for c, t in columns.items()}
        names = (c_char_p * len(types))(*[c.encode("utf-8") for c in types])
        codes = (c_int * len(types))(*[_CODES[t] for t in types.values()])
        h = c_void_p()
        lib.tt_table_read_file(_capi.encode_path(path), names, codes, len(types), byref(h))
        return cls._adopt(h.value, types)

    def write_columnar(self, path: str | os.PathLike) -> None:
        """Writes the table as a columnar data file (typed columns, strings dictionary-encoded,
        checksummed; docs/data-format.md), atomically. Read it back with ``read_file`` or train
        from it without parsing."""
        lib.tt_table_write_columnar(self._h, _capi.encode_path(path))

    @property
    def _h(self) -> int:
        if self._handle is None:
            raise errors.InvalidArgumentError("twotower: the table is closed")
        return self._handle

    def append(self, column: str, values: Iterable, dtype: Any = None) -> "Table":
        """Appends values to a column, creating it on first use (type inferred unless given).
        Columns may be filled in batches and in any order."""
        if not isinstance(column, str):
            raise errors.InvalidArgumentError(f"twotower: column names are strings, got {column!r}")
        if not isinstance(values, np.ndarray) and not isinstance(values, (list, tuple)):
            values = np.asarray(values) if hasattr(values, "__array__") else list(values)
        if dtype is not None:
            kind = _dtype_name(dtype)
        elif column in self._types:
            kind = self._types[column]
        else:
            kind = _infer(column, values)
        name = column.encode("utf-8")
        if kind == STRING:
            data = _as_strings(column, values)
            arr = (c_char_p * len(data))(*data)
            lib.tt_table_append_strings(self._h, name, arr, len(data))
        elif kind == INT64:
            arr = _as_numeric(column, values, INT64)
            lib.tt_table_append_int64(self._h, name, arr.ctypes.data_as(POINTER(c_int64)), arr.size)
        else:
            arr = _as_numeric(column, values, FLOAT32)
            lib.tt_table_append_float32(self._h, name, arr.ctypes.data_as(POINTER(ctypes.c_float)), arr.size)
        self._types.setdefault(column, kind)
        return self

    @property
    def num_rows(self) -> int:
        """Number of rows (InvalidArgumentError if the columns differ in length)."""
        n = c_size_t()
        lib.tt_table_num_rows(self._h, byref(n))
        return n.value

    def __len__(self) -> int:
        return self.num_rows

    def validate(self) -> None:
        """Raises InvalidArgumentError unless every column has the same length."""
        lib.tt_table_validate(self._h)

    @property
    def columns(self) -> dict[str, str]:
        """The table's columns and their types, in the order they were first appended or read."""
        n = c_size_t()
        lib.tt_table_num_columns(self._h, byref(n))
        out = {}
        name, code = c_char_p(), c_int()
        for i in range(n.value):
            lib.tt_table_column_info(self._h, i, byref(name), byref(code), None)
            out[name.value.decode("utf-8")] = _TYPES[code.value]
        return out

    def column(self, name: str) -> np.ndarray:
        """A copy of a column's values: int64 or float32 arrays, or an object array of str.
        InvalidArgumentError for an unknown column (the message lists the columns)."""
        cname = str(name).encode("utf-8")
        n, length, code, found = c_size_t(), c_size_t(), c_int(), c_char_p()
        lib.tt_table_num_columns(self._h, byref(n))
        for i in range(n.value):
            lib.tt_table_column_info(self._h, i, byref(found), byref(code), byref(length))
            if found.value == cname:
                break
        else:
            lib.tt_table_get_int64(self._h, cname, 0, 0, None)  # raises, naming the columns
        rows, kind = length.value, _TYPES[code.value]
        if kind == STRING:
            ptrs = (c_char_p * max(rows, 1))()
            lib.tt_table_get_strings(self._h, cname, 0, rows, ptrs)
            out = np.empty(rows, dtype=object)
            out[:] = [p.decode("utf-8") for p in ptrs[:rows]]
            return out
        if kind == INT64:
            arr = np.empty(rows, np.int64)
            lib.tt_table_get_int64(self._h, cname, 0, rows, arr.ctypes.data_as(POINTER(c_int64)))
            return arr
        arr = np.empty(rows, np.float32)
        lib.tt_table_get_float32(self._h, cname, 0, rows, arr.ctypes.data_as(POINTER(ctypes.c_float)))
        return arr

    def close(self) -> None:
        """Frees the table now (also done when it is garbage-collected)."""
        h, self._handle = self._handle, None
        if h is not None:
            self._lib.tt_table_free(h)

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._handle is None:
            return "<twotower.Table closed>"
        try:
            rows = str(self.num_rows)
        except errors.Error:
            rows = "ragged"
        cols = ", ".join(f"{c}: {t}" for c, t in self._types.items())
        return f"<twotower.Table rows={rows} {{{cols}}}>"


def as_table(data: "Table | Mapping[str, Iterable]") -> tuple[Table, bool]:
    """(table, owned): a Table as is, or a temporary one built from a mapping."""
    if isinstance(data, Table):
        return data, False
    if isinstance(data, Mapping) or hasattr(data, "items"):
        return Table(data), True
    raise errors.InvalidArgumentError(
        f"twotower: expected a twotower.Table or a mapping of columns, got {type(data).__name__}"
    )


def convert_data(input: str | os.PathLike, output: str | os.PathLike, columns: Mapping[str, Any]) -> None:
    """Converts a data file (CSV, TSV or columnar) to a columnar data file holding ``columns``
    (column name to type, in that order), as ``twotower data convert`` does."""
    if not columns:
        raise errors.InvalidArgumentError("twotower: convert_data needs at least one column")
    types = {str(c): _dtype_name(t) for c, t in columns.items()}
    names = (c_char_p * len(types))(*[c.encode("utf-8") for c in types])
    codes = (c_int * len(types))(*[_CODES[t] for t in types.values()])
    lib.tt_data_convert(_capi.encode_path(input), _capi.encode_path(output), names, codes, len(types))


def load_movielens(dir: str | os.PathLike | None = None) -> tuple[Table, Table]:
    """MovieLens 100k from its original directory (u.data, u.item; SHA256SUMS verified if
    present): ``(ratings, catalogue)`` with ratings {user_id: string, movie_title: string,
    timestamp: int64, rating: float32} and the catalogue {movie_id: string, movie_title:
    string}. ``dir`` None: $TWOTOWER_DATA."""
    ratings, catalogue = c_void_p(), c_void_p()
    path = None if dir is None else _capi.encode_path(dir)
    lib.tt_load_movielens(path, byref(ratings), byref(catalogue))
    return (
        Table._adopt(ratings.value, {"user_id": STRING, "movie_title": STRING, "timestamp": INT64, "rating": FLOAT32}),
        Table._adopt(catalogue.value, {"movie_id": STRING, "movie_title": STRING}),
    )
