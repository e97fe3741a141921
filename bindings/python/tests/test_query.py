"""Serving: queries with exclusions and allow-lists, keys, embeddings, index rebuilds."""

import numpy as np
import pytest

import twotower
from conftest import user_queries


def test_query_shapes_and_order(trained):
    ids, scores = trained.query(user_queries(range(7)), k=5)
    assert ids.shape == (7, 5) and ids.dtype == np.int64
    assert scores.shape == (7, 5) and scores.dtype == np.float32
    assert (np.diff(scores, axis=1) <= 0).all()
    # A Table works as well as a dict.
    with twotower.Table(user_queries(range(7))) as t:
        ids2, scores2 = trained.query(t, k=5)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(scores, scores2)


def test_k_beyond_the_candidates_pads(trained):
    ids, scores = trained.query(user_queries([3]), k=40)
    assert sorted(ids[0, :30]) == list(range(30))
    assert (ids[0, 30:] == -1).all() and np.isneginf(scores[0, 30:]).all()
    with pytest.raises(twotower.InvalidArgumentError, match="k must be a positive integer"):
        trained.query(user_queries([3]), k=0)


def test_exclusions(trained):
    base, _ = trained.query(user_queries([0, 1]), k=10)
    exclude = [base[0, :3].tolist(), np.array([], np.int64)]
    ids, scores = trained.query(user_queries([0, 1]), k=10, exclude=exclude)
    assert not set(base[0, :3]) & set(ids[0])
    assert ids[0, :7].tolist() == base[0, 3:].tolist()
    np.testing.assert_array_equal(ids[1], base[1])  # an empty list excludes nothing
    with pytest.raises(twotower.InvalidArgumentError, match="one list of ids per query row"):
        trained.query(user_queries([0, 1]), exclude=[[1]])
    with pytest.raises(twotower.InvalidArgumentError, match="integer candidate ids"):
        trained.query(user_queries([0]), exclude=[["i1"]])


def test_allow_list(trained):
    allow = [trained.candidate_id(k) for k in ("i0", "i7", "i29")]
    ids, scores = trained.query(user_queries([0, 1]), k=5, allow=allow)
    for row in ids:
        assert set(row[:3]) == set(allow) and (row[3:] == -1).all()
    # An exclusion applies on top of the allow-list.
    ids, _ = trained.query(user_queries([0]), k=5, allow=allow, exclude=[[allow[0]]])
    assert set(ids[0][:2]) == set(allow[1:]) and (ids[0][2:] == -1).all()
    # An empty allow-list allows nothing.
    ids, scores = trained.query(user_queries([0]), k=3, allow=[])
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_candidate_keys_and_ids(trained):
    assert trained.candidate_id("i7") is not None
    assert trained.candidate_key(trained.candidate_id("i7")) == "i7"
    assert trained.candidate_id("not an item") is None
    with pytest.raises(twotower.InvalidArgumentError, match="outside 0..29"):
        trained.candidate_key(30)
    keys = trained.candidate_keys(np.array([[0, -1]]))
    assert keys.shape == (1, 2) and keys[0, 1] is None and keys[0, 0] == trained.candidate_key(0)


def test_unknown_user_is_out_of_vocabulary(trained):
    ids, scores = trained.query({"user_id": ["never seen"], "timestamp": [1000000]}, k=3)
    assert (ids >= 0).all() and np.isfinite(scores).all()


def test_embeddings_give_the_scores(trained):
    users = list(range(12))
    q = trained.embed_queries(user_queries(users))
    assert q.shape == (12, trained.embedding_dim) and q.dtype == np.float32
    catalogue = {"item_id": [trained.candidate_key(i) for i in range(30)],
                 "title": [f"item {trained.candidate_key(i)[1:]}" for i in range(30)]}
    c = trained.embed_candidates(catalogue)
    assert c.shape == (30, trained.embedding_dim)
    ids, scores = trained.query(user_queries(users), k=5)
    expected = np.einsum("nd,nkd->nk", q, c[ids])
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    # The same brute force ranks the same top 5.
    brute = np.argsort(-(q @ c.T), axis=1, kind="stable")[:, :5]
    np.testing.assert_array_equal(np.sort(brute, axis=1), np.sort(ids, axis=1))
    # Row i's embedding does not depend on the batch it is in.
    np.testing.assert_allclose(trained.embed_queries(user_queries(users[5:6]))[0], q[5], rtol=1e-5, atol=1e-6)


def test_empty_query_batch(trained):
    empty = {"user_id": np.array([], dtype=str), "timestamp": np.array([], np.int64)}
    ids, scores = trained.query(empty, k=4)
    assert ids.shape == (0, 4) and scores.shape == (0, 4)
    assert trained.embed_queries(empty).shape == (0, trained.embedding_dim)


def test_missing_query_column(trained):
    with pytest.raises(twotower.InvalidArgumentError, match="timestamp"):
        trained.query({"user_id": ["u1"]})


def test_rebuild_index(trained):
    model = twotower.Model.from_bytes(trained.to_bytes())
    new = {"item_id": ["i3", "new1", "i9"], "title": ["item 3", "brand new item", "item 9"]}
    model.rebuild_index(new)
    assert model.num_candidates == 3
    assert [model.candidate_key(i) for i in range(3)] == ["i3", "new1", "i9"]
    ids, _ = model.query(user_queries([0]), k=5)
    assert sorted(ids[0, :3]) == [0, 1, 2] and (ids[0, 3:] == -1).all()
    # Scores are those of the same tower.
    c = model.embed_candidates(new)
    q = model.embed_queries(user_queries([0]))
    _, scores = model.query(user_queries([0]), k=3)
    np.testing.assert_allclose(np.sort(scores[0])[::-1], np.sort(c @ q[0])[::-1], rtol=1e-4, atol=1e-4)


def test_search_precision(trained):
    model = twotower.Model.from_bytes(trained.to_bytes())
    assert model.search_precision == "float32"
    queries = user_queries([0, 1, 2])
    want, _ = model.query(queries, k=5)
    for p in ("bf16", "int8", "float32"):
        model.search_precision = p
        assert model.search_precision == p
        ids, _ = model.query(queries, k=5)
        np.testing.assert_array_equal(ids, want)  # the float32 top-k, whatever the scan
    model.search_precision = None
    assert model.search_precision == "float32"
    with pytest.raises(twotower.InvalidArgumentError, match="fp16"):
        model.search_precision = "fp16"
    with pytest.raises(twotower.InvalidArgumentError, match="search_precision"):
        model.search_precision = "int4"
