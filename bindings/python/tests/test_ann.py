"""The approximate index: build, recall presets, per-query breadth, filtered search, saving,
conversion."""

import numpy as np
import pytest

import twotower
from conftest import user_queries


@pytest.fixture()
def ann_model(trained):
    with twotower.Model.from_bytes(trained.to_bytes()) as m:
        m.build_ann(partitions=5, seed=1)
        yield m


def test_build_and_info(trained, ann_model):
    assert trained.ann_partitions() == 0
    assert trained.ann_probe(0.9) == 0
    assert ann_model.ann_partitions() == 5
    assert 1 <= ann_model.ann_probe(0.9) <= 5


def test_every_partition_with_a_full_shortlist_is_exact(ann_model):
    q = user_queries(range(10))
    exact_ids, exact_scores = ann_model.query(q, k=5)
    ids, scores = ann_model.query(q, k=5, probe=5, rescore=30)
    np.testing.assert_array_equal(ids, exact_ids)
    np.testing.assert_allclose(scores, exact_scores, rtol=1e-5)
    # A recall target runs; answers are k distinct candidates, best first.
    ids, scores = ann_model.query(q, k=5, recall=0.9)
    assert (ids >= 0).all() and all(len(set(r)) == 5 for r in ids)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_filtered_search_returns_k(ann_model):
    q = user_queries([0])
    exact, _ = ann_model.query(q, k=10)
    # Exclude the exact top 10: one partition cannot hold enough, the search goes on.
    ids, _ = ann_model.query(q, k=10, probe=1, exclude=[exact[0].tolist()])
    assert (ids >= 0).all()
    assert not set(ids[0]) & set(exact[0])
    allow = list(range(0, 30, 3))
    ids, _ = ann_model.query(q, k=10, probe=1, allow=allow)
    assert sorted(ids[0].tolist()) == allow


def test_saved_and_loaded_answers_the_same(ann_model, tmp_path):
    path = tmp_path / "ann.tt"
    ann_model.save(path)
    with twotower.Model.load(path) as back:
        assert back.ann_partitions() == 5
        q = user_queries(range(6))
        for probe in (1, 3):
            a = ann_model.query(q, k=4, probe=probe)
            b = back.query(q, k=4, probe=probe)
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])


def test_convert_adds_and_drops(trained, tmp_path):
    src, ann, plain = tmp_path / "m.tt", tmp_path / "ann.tt", tmp_path / "plain.tt"
    trained.save(src)
    twotower.convert(src, ann, ann=True, ann_partitions=3)
    with twotower.Model.load(ann) as m:
        assert m.ann_partitions() == 3
    twotower.convert(ann, plain, ann=False)
    with twotower.Model.load(plain) as m:
        assert m.ann_partitions() == 0


def test_errors(ann_model, trained):
    with pytest.raises(twotower.InvalidArgumentError, match="recall must be in"):
        ann_model.query(user_queries([0]), recall=1.5)
    with pytest.raises(twotower.InvalidArgumentError, match="probe must be a non-negative integer"):
        ann_model.query(user_queries([0]), probe=-1)
    with twotower.Model.from_bytes(trained.to_bytes()) as m:
        with pytest.raises(twotower.InvalidArgumentError, match="partitions"):
            m.build_ann(partitions=31)
