"""Saving and loading: files, bytes, options, damage."""

import numpy as np
import pytest

import twotower
from conftest import SYN_SPEC, user_queries


def same_answers(a, b, users=range(40)):
    q = user_queries(list(users))
    ida, sa = a.query(q, k=10)
    idb, sb = b.query(q, k=10)
    np.testing.assert_array_equal(ida, idb)
    np.testing.assert_array_equal(sa, sb)


def test_save_load_round_trip(trained, tmp_path):
    path = tmp_path / "model.tt"
    trained.save(path)
    with twotower.Model.load(path) as loaded:
        same_answers(trained, loaded)
        assert loaded.spec == trained.spec
        assert loaded.num_candidates == 30
        md = loaded.metadata
        assert md["format_version"] == twotower.model_format_version()
        assert md["has_optimizer_state"] is False
        assert [loaded.candidate_key(i) for i in range(30)] == [trained.candidate_key(i) for i in range(30)]
    loaded2 = twotower.Model.load(str(path))  # str paths too
    same_answers(trained, loaded2)


def test_bytes_round_trip(trained):
    data = trained.to_bytes()
    assert isinstance(data, bytes) and data
    same_answers(trained, twotower.Model.from_bytes(data))
    same_answers(trained, twotower.Model.from_bytes(bytearray(data)))
    same_answers(trained, twotower.Model.from_bytes(memoryview(data)))
    # A loaded model saves the same bytes again.
    assert twotower.Model.from_bytes(data).to_bytes() == data


def test_save_options(trained, tmp_path):
    small = trained.to_bytes(compression_level=19)
    with_opt = trained.to_bytes(include_optimizer=True)
    assert len(with_opt) > len(small)
    m = twotower.Model.from_bytes(with_opt)
    assert m.metadata["has_optimizer_state"] is True
    same_answers(trained, m)
    raw = trained.to_bytes(compression_level=0)  # every section stored uncompressed
    assert len(raw) > len(small)
    same_answers(trained, twotower.Model.from_bytes(raw))
    with pytest.raises(twotower.InvalidArgumentError, match="compression_level is 20; it must be in 0..19"):
        trained.save(tmp_path / "x.tt", compression_level=20)
    assert not (tmp_path / "x.tt").exists()


def test_corrupt_bytes_name_the_section(trained):
    data = bytearray(trained.to_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a section's stored bytes
    with pytest.raises(twotower.CorruptModelError) as e:
        twotower.Model.from_bytes(bytes(data))
    assert e.value.status_name == "TT_ERR_CORRUPT"
    assert "section '" in e.value.message and "checksum" in e.value.message
    assert isinstance(e.value, twotower.Error)


def test_truncated_and_empty(trained, tmp_path):
    data = trained.to_bytes()
    with pytest.raises(twotower.CorruptModelError, match="truncated"):
        twotower.Model.from_bytes(data[: len(data) - 100])
    with pytest.raises(twotower.CorruptModelError):
        twotower.Model.from_bytes(b"")
    p = tmp_path / "half.tt"
    p.write_bytes(data[:200])
    with pytest.raises(twotower.CorruptModelError, match="half.tt"):
        twotower.Model.load(p)


def test_missing_file_is_io_error(tmp_path):
    with pytest.raises(twotower.IoError) as e:
        twotower.Model.load(tmp_path / "nope.tt")
    assert isinstance(e.value, OSError)
    assert "nope.tt" in e.value.message


def test_untrained_model_cannot_be_saved(tmp_path):
    m = twotower.Model(SYN_SPEC)
    with pytest.raises(twotower.InvalidArgumentError, match="needs a trained or loaded model"):
        m.save(tmp_path / "m.tt")
    with pytest.raises(twotower.InvalidArgumentError):
        m.to_bytes()
