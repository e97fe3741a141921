# The package version. It must equal the C library's TT_VERSION_STRING
# (include/twotower/twotower.h): setup.py refuses to build otherwise, and the package refuses to
# load a libtwotower.so of another version.
__version__ = "0.1.0"
