"""The process-wide libtwotower.so, loaded and checked when the package is imported."""

from . import _capi

lib = _capi.load()
