"""Exceptions: one class per tt_status, all derived from :class:`Error`."""

from __future__ import annotations

__all__ = [
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

# tt_status values (fixed forever by the C API).
OK = 0
INVALID_ARGUMENT = 1
IO = 2
PARSE = 3
CORRUPT = 4
UNSUPPORTED = 5
CANCELLED = 6
INTERNAL = 7
OUT_OF_MEMORY = 8

_STATUS_NAMES = {
    OK: "TT_OK",
    INVALID_ARGUMENT: "TT_ERR_INVALID_ARGUMENT",
    IO: "TT_ERR_IO",
    PARSE: "TT_ERR_PARSE",
    CORRUPT: "TT_ERR_CORRUPT",
    UNSUPPORTED: "TT_ERR_UNSUPPORTED",
    CANCELLED: "TT_ERR_CANCELLED",
    INTERNAL: "TT_ERR_INTERNAL",
    OUT_OF_MEMORY: "TT_ERR_OUT_OF_MEMORY",
}


class Error(Exception):
    """A twotower call failed.

    ``status`` is the C ``tt_status`` value, ``status_name`` its name (``"TT_ERR_PARSE"``, ...)
    and ``message`` the library's message (``tt_last_error()``), which names the function and
    the file, line, field, section or argument at fault.
    """

    status: int = -1
    default_status: int = -1

    def __init__(self, message: str, status: int | None = None, status_name: str | None = None):
        if status is None:
            status = self.default_status
        self.status = status
        self.status_name = status_name or _STATUS_NAMES.get(status, "TT_ERR_UNKNOWN")
        self.message = message
        # Exception.args holds only the message (OSError would read two arguments as errno, text).
        Exception.__init__(self, message)

    def __str__(self) -> str:
        return f"{self.status_name}: {self.message}"

    def __reduce__(self):
        return (type(self), (self.message, self.status, self.status_name))


class InvalidArgumentError(Error, ValueError):
    """TT_ERR_INVALID_ARGUMENT: a bad argument or option, an unknown column, a model used before
    training, a closed object."""

    default_status = INVALID_ARGUMENT


class IoError(Error, OSError):
    """TT_ERR_IO: a file could not be opened, read or written."""

    default_status = IO


class ParseError(Error, ValueError):
    """TT_ERR_PARSE: malformed text input (CSV/TSV, MovieLens files, a JSON spec)."""

    default_status = PARSE


class CorruptModelError(Error, ValueError):
    """TT_ERR_CORRUPT: a model file or buffer is damaged or truncated; the message names the
    section."""

    default_status = CORRUPT


class UnsupportedError(Error):
    """TT_ERR_UNSUPPORTED: valid input needing a feature this build lacks (a newer format)."""

    default_status = UNSUPPORTED


class CancelledError(Error):
    """TT_ERR_CANCELLED: the progress callback asked training to stop."""

    default_status = CANCELLED


class InternalError(Error):
    """TT_ERR_INTERNAL: a bug, or a failure inside a dependency."""

    default_status = INTERNAL


class OutOfMemoryError(Error, MemoryError):
    """TT_ERR_OUT_OF_MEMORY."""

    default_status = OUT_OF_MEMORY


_BY_STATUS = {
    INVALID_ARGUMENT: InvalidArgumentError,
    IO: IoError,
    PARSE: ParseError,
    CORRUPT: CorruptModelError,
    UNSUPPORTED: UnsupportedError,
    CANCELLED: CancelledError,
    INTERNAL: InternalError,
    OUT_OF_MEMORY: OutOfMemoryError,
}


def error_for_status(status: int, message: str, status_name: str | None = None) -> Error:
    """The exception for a non-OK status (an unknown value gives a plain :class:`Error`)."""
    cls = _BY_STATUS.get(status, Error)
    return cls(message, status, status_name)


class LibraryError(ImportError):
    """libtwotower.so could not be found or loaded, or it is not the ABI or version this package
    was written for. Raised by ``import twotower``."""
