"""Search by caller-supplied vectors: Model.query_vectors, and VectorIndex (add with and
without keys, search against NumPy's brute force, key filters, save and load, int8, the
approximate index, a model file as an index) with the errors for bad input."""

import numpy as np
import pytest

import twotower
from conftest import user_queries


def brute_force(x, keys, q, k):
    s = q.astype(np.float64) @ x.astype(np.float64).T
    return keys[np.argsort(-s, axis=1, kind="stable")[:, :k]]


def test_query_vectors_matches_query(trained):
    q = user_queries([0, 1, 2])
    emb = trained.embed_queries(q)
    ids, scores = trained.query(q, k=5)
    vids, vscores = trained.query_vectors(emb, k=5)
    np.testing.assert_array_equal(vids, ids)
    np.testing.assert_array_equal(vscores, scores)
    # float64 input is converted; one vector is one row; filters are candidate ids.
    one, _ = trained.query_vectors(emb[0].astype(np.float64), k=4, exclude=[ids[0, :1]])
    np.testing.assert_array_equal(one[0], ids[0, 1:5])
    empty, _ = trained.query_vectors(np.zeros((0, emb.shape[1]), np.float32))
    assert empty.shape == (0, 10)


def test_query_vectors_bad_input(trained):
    emb = trained.embed_queries(user_queries([0]))
    with pytest.raises(twotower.InvalidArgumentError, match="vectors: dim is 8; the model has 16"):
        trained.query_vectors(emb[:, :8])
    bad = emb.copy()
    bad[0, 5] = np.nan
    with pytest.raises(twotower.InvalidArgumentError, match="row 0, column 5 is NaN"):
        trained.query_vectors(bad)
    with pytest.raises(twotower.InvalidArgumentError, match="2-D array"):
        trained.query_vectors(np.zeros((1, 2, 16), np.float32))
    with pytest.raises(twotower.InvalidArgumentError, match="k must be a positive integer"):
        trained.query_vectors(emb, k=0)
    with pytest.raises(twotower.InvalidArgumentError, match="must hold numbers"):
        trained.query_vectors(np.array([["a"] * 16]))


@pytest.fixture()
def data():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((400, 24)).astype(np.float32)
    keys = (np.arange(400, dtype=np.int64) * 17) - 3000
    q = rng.standard_normal((5, 24)).astype(np.float32)
    return x, keys, q


def test_index_against_brute_force(data, tmp_path):
    x, keys, q = data
    with twotower.VectorIndex(24) as index:
        assert (len(index), index.dim, index.precision) == (0, 24, "float32")
        index.add(x[:150], keys[:150])
        index.add(x[150:], keys[150:])
        assert len(index) == 400
        got, scores = index.search(q, k=6)
        np.testing.assert_array_equal(got, brute_force(x, keys, q, 6))
        ref = np.sort(q.astype(np.float64) @ x.astype(np.float64).T, axis=1)[:, ::-1][:, :6]
        np.testing.assert_allclose(scores, ref, rtol=1e-5, atol=1e-5)
        # Filters hold keys; an empty allow-list allows nothing.
        f, _ = index.search(q[:1], k=3, exclude=[got[0, :1]], allow=got[0, :3])
        np.testing.assert_array_equal(f[0], np.append(got[0, 1:3], -1))
        none, _ = index.search(q[:1], k=2, allow=[])
        np.testing.assert_array_equal(none, [[-1, -1]])
        # Save and load; int8 storage keeps the top-1 here.
        path = tmp_path / "idx.tt"
        index.save(path)
        with twotower.VectorIndex.load(path) as back:
            again, again_scores = back.search(q, k=6)
            np.testing.assert_array_equal(again, got)
            np.testing.assert_array_equal(again_scores, scores)
        with twotower.VectorIndex.load(path, precision="int8", threads=1) as small:
            assert small.precision == "int8"
            top1, _ = small.search(q, k=1)
            np.testing.assert_array_equal(top1[:, 0], got[:, 0])
        # The approximate index: every partition with a full shortlist is exact.
        index.build_ann(partitions=10, calibration=q)
        assert index.ann_partitions() == 10 and 1 <= index.ann_probe(0.9) <= 10
        full, _ = index.search(q, k=6, probe=10, rescore=400)
        np.testing.assert_array_equal(full, got)
        index.drop_ann()
        assert index.ann_partitions() == 0
        # Without keys: row numbers.
        index.add(50 * q[0])
        best, _ = index.search(q[0], k=1)
        assert best[0, 0] == 400


def test_index_bad_input(data, tmp_path):
    x, keys, q = data
    index = twotower.VectorIndex(24)
    index.add(x, keys)
    with pytest.raises(twotower.InvalidArgumentError, match="dim is 23; the index has 24"):
        index.add(x[:, :23])
    with pytest.raises(twotower.InvalidArgumentError, match=r"keys\[0\] is -1"):
        index.add(x[:1], [-1])
    with pytest.raises(twotower.InvalidArgumentError, match="1 keys for 2 vectors"):
        index.add(x[:2], [5])
    bad = q.copy()
    bad[2, 7] = np.inf
    with pytest.raises(twotower.InvalidArgumentError, match="row 2, column 7 is infinite"):
        index.search(bad)
    with pytest.raises(twotower.InvalidArgumentError, match="dim must be a positive integer"):
        twotower.VectorIndex(0)
    with pytest.raises(twotower.InvalidArgumentError, match="precision"):
        twotower.VectorIndex(4, precision="int4")
    with pytest.raises(twotower.InvalidArgumentError, match="tt_index_options.threads"):
        twotower.VectorIndex(4, threads=1000)
    with pytest.raises(twotower.IoError):
        twotower.VectorIndex.load(tmp_path / "missing.tt")
    index.close()
    with pytest.raises(twotower.InvalidArgumentError, match="the index is closed"):
        index.search(q)


def test_model_file_as_index(trained, tmp_path):
    """The synthetic model's keys are text ("i3"), so its index keys rows by number: the
    model's candidate ids."""
    path = tmp_path / "model.tt"
    trained.save(path)
    with twotower.VectorIndex.load(path) as index:
        assert len(index) == trained.num_candidates
        emb = trained.embed_queries(user_queries([0, 7]))
        want, want_scores = trained.query_vectors(emb, k=5)
        got, scores = index.search(emb, k=5)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(scores, want_scores)
        index.save(tmp_path / "index.tt")
    with pytest.raises(twotower.InvalidArgumentError, match="a vector index file"):
        twotower.Model.load(tmp_path / "index.tt")
