"""Warm start, per-model threads, evaluation options and loading options (issue 15)."""

import numpy as np
import pytest

import twotower
from conftest import SYN_SPEC, synthetic_columns, user_queries


def test_ten_plus_ten_epochs_through_a_file_equal_twenty(tmp_path):
    interactions, candidates = synthetic_columns()
    twenty = twotower.Model(SYN_SPEC)
    twenty.train(interactions, candidates, epochs=20, threads=2)
    ten = twotower.Model(SYN_SPEC)
    ten.train(interactions, candidates, epochs=10, threads=2)
    ten.save(tmp_path / "ten.tt", include_optimizer=True)
    resumed = twotower.Model.load(tmp_path / "ten.tt", threads=2)
    assert resumed.threads == 2
    queries = user_queries(range(20))
    assert not np.array_equal(resumed.embed_queries(queries), twenty.embed_queries(queries))
    resumed.train(interactions, candidates, epochs=10)  # threads 0: the model's 2
    np.testing.assert_array_equal(resumed.embed_queries(queries), twenty.embed_queries(queries))
    np.testing.assert_array_equal(resumed.embed_candidates(candidates), twenty.embed_candidates(candidates))
    assert resumed.metadata["epochs"] == 20

    # reset=True starts over: the model of 10 epochs from scratch.
    again = twotower.Model.from_bytes(ten.to_bytes(include_optimizer=True))
    again.train(interactions, candidates, epochs=10, threads=2, reset=True)
    np.testing.assert_array_equal(again.embed_queries(queries), ten.embed_queries(queries))
    assert again.metadata["epochs"] == 10


def test_threads_and_evaluation_options(trained, synthetic):
    interactions, candidates = synthetic
    model = twotower.Model.from_bytes(trained.to_bytes())
    assert model.threads >= 1
    model.threads = 1
    assert model.threads == 1
    with pytest.raises(twotower.InvalidArgumentError, match="threads"):
        model.threads = 1000
    default = model.evaluate(interactions, candidates)
    assert default.k == (1, 5, 10)
    custom = model.evaluate(interactions, candidates, k=[2, 30], batch_size=7)
    assert custom.k == (2, 30) and custom[30] == 1.0
    assert custom[2] >= default[1]
    with pytest.raises(twotower.InvalidArgumentError, match="k_count"):
        model.evaluate(interactions, candidates, k=list(range(1, 18)))
    with pytest.raises(twotower.InvalidArgumentError, match="batch_size"):
        model.evaluate(interactions, candidates, batch_size=1 << 21)
    with pytest.raises(twotower.InvalidArgumentError, match="tt_load_options.threads"):
        twotower.Model.from_bytes(trained.to_bytes(), threads=-1)
