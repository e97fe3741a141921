"""Builds the twotower Python package: the pure-Python binding plus the libtwotower.so it
was built with, copied into the package.

Where the library comes from:
  * TWOTOWER_BUILD_DIR set: an existing CMake build of this repository (e.g. build/release;
    relative paths are taken from the repository root). The twotower_shared target is brought
    up to date there first when the directory holds a CMakeCache.txt; otherwise the directory
    just has to contain libtwotower.so (e.g. an install prefix's lib/).
  * otherwise: CMake configures the repository (found two levels above this file, or at
    TWOTOWER_SOURCE_DIR) into this package's build/cmake directory, Release, without tests,
    tools or benchmarks, and builds only twotower_shared. Needs what tools/install-deps.sh
    installs. Later installs rebuild incrementally. Extra configure arguments:
    TWOTOWER_CMAKE_ARGS.
"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
LIBRARY = "libtwotower.so"


def package_version() -> str:
    text = (HERE / "twotower" / "_version.py").read_text()
    return re.search(r'__version__\s*=\s*"([^"]+)"', text).group(1)


def source_dir() -> Path:
    env = os.environ.get("TWOTOWER_SOURCE_DIR")
    root = Path(env).resolve() if env else HERE.parents[1]
    if not (root / "include" / "twotower" / "twotower.h").exists():
        raise SystemExit(
            f"twotower: cannot find the twotower sources at {root} (include/twotower/twotower.h); "
            f"set TWOTOWER_SOURCE_DIR to the repository, or TWOTOWER_BUILD_DIR to a build holding {LIBRARY}"
        )
    return root


def header_version(root: Path) -> str:
    text = (root / "include" / "twotower" / "twotower.h").read_text()
    return re.search(r'#define TT_VERSION_STRING "([^"]+)"', text).group(1)


def log(msg: str) -> None:
    print(f"twotower: {msg}", flush=True)


def run(cmd: list) -> None:
    log("$ " + " ".join(shlex.quote(str(c)) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True)


def find_library(directory: Path) -> Path:
    lib = directory / LIBRARY
    if not lib.exists():
        raise SystemExit(f"twotower: no {LIBRARY} in {directory}")
    return lib.resolve()  # the real file behind libtwotower.so -> .so.0.1 -> .so.0.1.0


def build_library() -> Path:
    build_dir = os.environ.get("TWOTOWER_BUILD_DIR")
    cmake = shutil.which("cmake")
    if build_dir:
        d = Path(build_dir)
        if not d.is_absolute():
            d = source_dir() / d
        if (d / "CMakeCache.txt").exists():
            if not cmake:
                raise SystemExit("twotower: cmake is needed to bring TWOTOWER_BUILD_DIR up to date")
            run([cmake, "--build", d, "--target", "twotower_shared"])
        return find_library(d)
    root = source_dir()
    if header_version(root) != package_version():
        raise SystemExit(
            f"twotower: the library is version {header_version(root)} (include/twotower/twotower.h) but "
            f"the Python package is {package_version()} (twotower/_version.py); make them equal"
        )
    if not cmake:
        raise SystemExit("twotower: cmake is needed to build libtwotower.so (run tools/install-deps.sh)")
    d = HERE / "build" / "cmake"
    configure = [cmake, "-S", root, "-B", d, "-DCMAKE_BUILD_TYPE=Release", "-DTWOTOWER_BUILD_TESTS=OFF",
                 "-DTWOTOWER_BUILD_TOOLS=OFF", "-DTWOTOWER_BUILD_BENCH=OFF"]
    if not (d / "CMakeCache.txt").exists() and shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    configure += shlex.split(os.environ.get("TWOTOWER_CMAKE_ARGS", ""))
    run(configure)
    run([cmake, "--build", d, "--target", "twotower_shared", "--parallel", str(os.cpu_count() or 2)])
    return find_library(d)


def check_library(lib: Path) -> None:
    """Refuses a library of another version than the package (the import would refuse it too)."""
    import ctypes

    dll = ctypes.CDLL(str(lib))
    dll.tt_version_string.restype = ctypes.c_char_p
    version = dll.tt_version_string().decode()
    if version != package_version():
        raise SystemExit(
            f"twotower: {lib} is library version {version}, the Python package is {package_version()}"
        )


class BuildWithLibrary(build_py):
    """build_py, then libtwotower.so copied into the package as twotower/libtwotower.so."""

    def run(self):
        super().run()
        lib = build_library()
        check_library(lib)
        dest = Path(self.build_lib) / "twotower" / LIBRARY
        dest.parent.mkdir(parents=True, exist_ok=True)
        log(f"bundling {lib} as {dest}")
        shutil.copyfile(lib, dest)
        dest.chmod(0o755)


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
