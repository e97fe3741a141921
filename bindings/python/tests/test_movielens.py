"""End to end on MovieLens 100k: the TFRS [32] model, two epochs."""

import os

import numpy as np
import pytest

import twotower
from conftest import REPO_ROOT, movielens_dir


@pytest.fixture(scope="module")
def movielens():
    d = movielens_dir()
    if d is None:
        if os.environ.get("CI") == "true":
            pytest.fail("MovieLens 100k not found (TWOTOWER_DATA or ../shared/data/ml-100k) and CI=true")
        pytest.skip("MovieLens 100k not found (set TWOTOWER_DATA)")
    return twotower.load_movielens(d)


def test_movielens_deep_32(movielens, tmp_path):
    ratings, movies = movielens
    assert ratings.num_rows == 100_000 and movies.num_rows == 1682
    assert ratings.columns["timestamp"] == "int64"
    model = twotower.Model(REPO_ROOT / "samples" / "movielens" / "deep-32.json")
    tops = []
    metrics = model.train(ratings, movies, epochs=2,
                          progress=lambda p: tops.append(p.metrics[100]) if p.metrics else None)
    assert metrics.k == (1, 5, 10, 50, 100) and metrics.examples == 20_000
    assert metrics[100] > 0.15, metrics
    assert tops and tops[-1] == metrics[100]
    ids, scores = model.query({"user_id": ["42"], "timestamp": [879024327]}, k=10)
    titles = model.candidate_keys(ids[0])
    assert all(isinstance(t, str) and t for t in titles)
    path = tmp_path / "ml.tt"
    model.save(path)
    loaded = twotower.Model.load(path)
    ids2, scores2 = loaded.query({"user_id": ["42"], "timestamp": [879024327]}, k=10)
    np.testing.assert_array_equal(ids, ids2)
    np.testing.assert_array_equal(scores, scores2)
