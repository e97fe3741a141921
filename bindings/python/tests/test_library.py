"""Loading libtwotower.so: versions, the ABI check and its refusals."""

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import twotower
from twotower import _capi


def test_versions_match():
    assert twotower.__version__ == twotower.library_version()
    assert twotower.ABI_VERSION == 1
    assert int(twotower._lib.tt_abi_version()) == twotower.ABI_VERSION
    assert twotower.model_format_min_version() <= twotower.model_format_version()
    assert os.path.exists(twotower.library_path)


def test_library_exports_only_the_c_api():
    # The binding goes through the C ABI: the symbols it declares are all there.
    for name in _capi._SIGNATURES:
        assert hasattr(twotower._lib, name)


def test_refuses_another_abi(monkeypatch):
    monkeypatch.setattr(_capi, "ABI_VERSION", twotower.ABI_VERSION + 1)
    with pytest.raises(twotower.LibraryError, match=r"implements C ABI version 1.*written for ABI version 2"):
        _capi.Library(twotower.library_path)


def test_refuses_another_library_version(monkeypatch):
    monkeypatch.setattr(_capi, "__version__", "9.9.9")
    with pytest.raises(twotower.LibraryError, match=r"library version 0\.1\.0.*package is version 9\.9\.9"):
        _capi.Library(twotower.library_path)


def test_missing_library_is_a_clear_import_error(tmp_path):
    env = dict(os.environ, TWOTOWER_LIBRARY=str(tmp_path / "nope.so"))
    r = subprocess.run([sys.executable, "-c", "import twotower"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "LibraryError" in r.stderr and "nope.so does not exist" in r.stderr


@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_import_refuses_a_library_of_another_abi(tmp_path):
    # A stand-in libtwotower.so that claims ABI 99: `import twotower` must refuse it.
    src = tmp_path / "fake.c"
    src.write_text(textwrap.dedent("""
        unsigned tt_abi_version(void) { return 99; }
        const char* tt_version_string(void) { return "0.1.0"; }
    """))
    so = tmp_path / "libtwotower.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(so), str(src)], check=True)
    env = dict(os.environ, TWOTOWER_LIBRARY=str(so))
    r = subprocess.run([sys.executable, "-c", "import twotower"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "implements C ABI version 99" in r.stderr, r.stderr
