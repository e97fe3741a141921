"""Conversion: convert, quantize, strip, precision, topk_overlap, export and import."""

import numpy as np
import pytest

import twotower
from conftest import SYN_USERS, user_queries


@pytest.fixture()
def copy(trained):
    """A private copy of the trained model (conversions change it)."""
    with twotower.Model.from_bytes(trained.to_bytes()) as m:
        yield m


def test_precision_of_a_trained_model(trained):
    p = trained.precision
    assert p == ("float32", "float32") and p.index == "float32" and p.weights == "float32"


def test_quantize_int8_changes_precision_and_file_size(trained, copy, tmp_path):
    copy.quantize(index="int8", weights="int8")
    assert copy.precision == twotower.Precision("int8", "int8")
    trained.save(tmp_path / "f32.tt")
    copy.save(tmp_path / "int8.tt")
    f32, int8 = (tmp_path / "f32.tt").stat().st_size, (tmp_path / "int8.tt").stat().st_size
    assert int8 < 0.6 * f32, (int8, f32)
    with twotower.Model.load(tmp_path / "int8.tt") as loaded:
        assert loaded.precision == ("int8", "int8")
        q = user_queries(range(SYN_USERS))
        np.testing.assert_array_equal(loaded.query(q, k=5)[0], copy.query(q, k=5)[0])
        overlap = trained.topk_overlap(loaded, q, k=5)
    assert 0.5 < overlap <= 1.0


def test_quantize_one_part_keeps_the_other(copy):
    copy.quantize(weights="bf16")
    assert copy.precision == ("float32", "bf16")
    copy.quantize(index="fp16")
    assert copy.precision == ("fp16", "bf16")
    copy.quantize(index="f32")  # the CLI's spelling
    assert copy.precision == ("float32", "bf16")


def test_topk_overlap(trained, copy):
    q = user_queries(range(SYN_USERS))
    assert trained.topk_overlap(trained, q, k=10) == 1.0
    copy.quantize(index="int8", weights="int8")
    overlap = trained.topk_overlap(copy, q, k=5)
    assert 0.5 < overlap <= 1.0
    with pytest.raises(twotower.InvalidArgumentError, match="k must be a positive integer"):
        trained.topk_overlap(copy, q, k=0)
    with pytest.raises(twotower.InvalidArgumentError, match="other must be a Model"):
        trained.topk_overlap("model.tt", q, k=5)


def test_topk_overlap_refuses_different_catalogues(trained, copy):
    copy.rebuild_index({"item_id": [f"i{i}" for i in range(10)], "title": [f"item {i}" for i in range(10)]})
    with pytest.raises(twotower.InvalidArgumentError) as e:
        trained.topk_overlap(copy, user_queries([0]), k=5)
    assert "candidate" in str(e.value)


def test_strip_drops_training_metadata_not_answers(trained, copy, tmp_path):
    assert trained.metadata.get("data_fingerprint")
    copy.strip()
    assert not copy.metadata.get("data_fingerprint")
    q = user_queries(range(10))
    np.testing.assert_array_equal(copy.query(q, k=5)[1], trained.query(q, k=5)[1])


def test_convert_file(trained, tmp_path):
    src, dst = tmp_path / "in.tt", tmp_path / "out.tt"
    trained.save(src, include_optimizer=True)
    twotower.convert(src, dst, index_precision="int8", weights_precision="bf16", strip=True, compression_level=0)
    with twotower.Model.load(dst) as m:
        assert m.precision == ("int8", "bf16")
        assert not m.metadata.get("data_fingerprint")
        assert trained.topk_overlap(m, user_queries(range(SYN_USERS)), k=5) > 0.5
    # With the defaults it is an upgrade: the same answers.
    twotower.convert(src, tmp_path / "same.tt")
    with twotower.Model.load(tmp_path / "same.tt") as m:
        assert m.precision == ("float32", "float32")
        q = user_queries(range(10))
        np.testing.assert_array_equal(m.query(q, k=5)[1], trained.query(q, k=5)[1])


def test_convert_errors(trained, tmp_path):
    src = tmp_path / "in.tt"
    trained.save(src)
    with pytest.raises(twotower.IoError, match="missing.tt"):
        twotower.convert(tmp_path / "missing.tt", tmp_path / "out.tt")
    with pytest.raises(twotower.InvalidArgumentError, match="is the input file"):
        twotower.convert(src, src)
    # An unknown name is refused here; a number goes to the C library, which names the field.
    with pytest.raises(twotower.InvalidArgumentError, match="index_precision must be 'float32'"):
        twotower.convert(src, tmp_path / "out.tt", index_precision="int4")
    with pytest.raises(twotower.InvalidArgumentError, match="tt_convert_options.weights_precision is 9"):
        twotower.convert(src, tmp_path / "out.tt", weights_precision=9)
    assert not (tmp_path / "out.tt").exists()


def test_quantize_errors(trained, copy):
    with pytest.raises(twotower.InvalidArgumentError, match="index must be 'float32'"):
        copy.quantize(index="half")
    with pytest.raises(twotower.InvalidArgumentError, match="index_precision is 7; expected a tt_precision"):
        copy.quantize(index=7)
    assert copy.precision == ("float32", "float32")
    m = twotower.Model.from_bytes(trained.to_bytes())
    m.close()
    for call in (lambda: m.quantize(index="int8"), m.strip, lambda: m.precision,
                 lambda: m.export("x"), lambda: trained.topk_overlap(m, user_queries([0]), k=1)):
        with pytest.raises(twotower.InvalidArgumentError, match="the model is closed"):
            call()


def test_export_import_round_trip(trained, tmp_path):
    out = tmp_path / "export"
    trained.export(out, queries=user_queries(range(5)))
    for name in ("candidate_embeddings.npy", "candidate_embeddings.fvecs", "candidate_keys.txt",
                 "query_embeddings.npy", "query_embeddings.fvecs", "weights.safetensors", "spec.json",
                 "preprocessing.json"):
        assert (out / name).is_file(), name
    np.testing.assert_array_equal(np.load(out / "query_embeddings.npy"), trained.embed_queries(user_queries(range(5))))
    keys = (out / "candidate_keys.txt").read_text().split("\n")[:-1]
    assert keys == [trained.candidate_key(i) for i in range(trained.num_candidates)]
    with twotower.import_model(out) as m:
        q = user_queries(range(SYN_USERS))
        ids, scores = m.query(q, k=10)
        ids0, scores0 = trained.query(q, k=10)
        np.testing.assert_array_equal(ids, ids0)
        np.testing.assert_array_equal(scores, scores0)
        assert trained.topk_overlap(m, q, k=10) == 1.0


def test_export_options_and_import_from_candidates(trained, synthetic, tmp_path):
    interactions, candidates = synthetic
    out = tmp_path / "e"
    trained.export(out, npy=False, fvecs=True, candidates=False)
    assert not (out / "candidate_embeddings.npy").exists()
    assert not (out / "candidate_embeddings.fvecs").exists()
    assert (out / "weights.safetensors").is_file()
    # Without stored embeddings the index must come from a candidates table.
    with pytest.raises(twotower.Error, match="candidate"):
        twotower.Model.import_model(out)
    with twotower.Model.import_model(out, candidates=candidates, threads=1) as m:
        q = user_queries(range(SYN_USERS))
        np.testing.assert_allclose(m.query(q, k=5)[1], trained.query(q, k=5)[1], rtol=1e-5, atol=1e-6)
    # Paths given one by one, no directory.
    with twotower.import_model(spec=out / "spec.json", preprocessing=out / "preprocessing.json",
                               weights=out / "weights.safetensors", candidates=candidates) as m:
        assert m.num_candidates == trained.num_candidates


def test_import_errors(tmp_path):
    with pytest.raises(twotower.IoError, match="nowhere"):
        twotower.import_model(tmp_path / "nowhere")
    with pytest.raises(twotower.InvalidArgumentError, match="directory is NULL"):
        twotower.import_model()
    (tmp_path / "empty").mkdir()
    with pytest.raises(twotower.Error, match="spec.json"):
        twotower.import_model(tmp_path / "empty")
