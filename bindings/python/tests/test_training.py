"""Training: metrics, the progress callback, cancellation, evaluation."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import twotower
from conftest import SYN_SPEC, synthetic_columns, user_queries


def test_training_learns_the_groups(trained):
    m = trained.train_metrics
    assert m.k == (1, 5, 10)
    assert m.examples == 200
    # Each group has 6 items: top-10 must catch nearly all held-out pairs.
    assert m[10] > 0.9
    assert m.as_dict()["top_10"] == m[10]
    assert trained.num_candidates == 30
    assert trained.embedding_dim == 16
    md = trained.metadata
    assert md["candidates"] == 30 and md["epochs"] == 8 and md["seed"] == 3
    assert trained.spec["name"] == "synthetic"
    # Users of group g get group g's items first.
    ids, _ = trained.query(user_queries([0, 1, 2, 3, 4]), k=6)
    for g in range(5):
        keys = set(trained.candidate_keys(ids[g]))
        assert keys == {f"i{g * 6 + j}" for j in range(6)}


def test_progress_reports_batches_and_epochs(synthetic):
    interactions, candidates = synthetic
    seen = []
    model = twotower.Model(SYN_SPEC)
    metrics = model.train(interactions, candidates, epochs=4, eval_every=2, progress=seen.append)
    batches = [p for p in seen if not p.epoch_done]
    epochs = [p for p in seen if p.epoch_done]
    assert [p.epoch for p in epochs] == [1, 2, 3, 4]
    assert all(p.epochs == 4 and p.batches == 16 for p in seen)  # 1000 train rows / 64
    assert len(batches) == 4 * 16 and batches[0].batch == 1 and batches[-1].batch == 16
    assert all(p.loss is None and p.metrics is None for p in batches)
    assert all(p.loss > 0 for p in epochs)
    assert [p.metrics is not None for p in epochs] == [False, True, False, True]
    assert epochs[-1].metrics == metrics


def test_train_accepts_dicts_and_is_deterministic():
    interactions, candidates = synthetic_columns()
    a = twotower.Model(SYN_SPEC)
    b = twotower.Model(SYN_SPEC)
    ma = a.train(interactions, candidates, epochs=2, seed=11, threads=1)
    mb = b.train(interactions, candidates, epochs=2, seed=11, threads=1)
    assert ma == mb
    qa, qb = a.embed_queries(user_queries(range(10))), b.embed_queries(user_queries(range(10)))
    np.testing.assert_array_equal(qa, qb)


def test_cancel_by_returning_false(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    calls = []

    def stop_at_third_batch(p):
        calls.append(p)
        return len(calls) < 3

    with pytest.raises(twotower.CancelledError) as e:
        model.train(interactions, candidates, progress=stop_at_third_batch)
    assert len(calls) == 3
    assert e.value.status_name == "TT_ERR_CANCELLED" and "cancelled" in e.value.message
    # The model keeps what it had: still untrained.
    assert model.num_candidates == 0
    with pytest.raises(twotower.InvalidArgumentError, match="needs a trained or loaded model"):
        model.query(user_queries([0]))


def test_returning_none_continues(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    model.train(interactions, candidates, epochs=1, progress=lambda p: None)
    assert model.num_candidates == 30


def test_exception_in_callback_cancels_and_is_reraised(synthetic, trained):
    interactions, candidates = synthetic

    class Boom(Exception):
        pass

    def explode(p):
        if p.epoch_done:
            raise Boom(f"at epoch {p.epoch}")

    # A trained model stays as it was: same weights, same answers.
    before = trained.to_bytes()
    model = twotower.Model.from_bytes(before)
    ids0, scores0 = model.query(user_queries(range(8)))
    with pytest.raises(Boom, match="at epoch 1"):
        model.train(interactions, candidates, epochs=3, progress=explode)
    ids1, scores1 = model.query(user_queries(range(8)))
    np.testing.assert_array_equal(ids0, ids1)
    np.testing.assert_array_equal(scores0, scores1)


def test_ctrl_c_interrupts_training(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    batches = []

    def on_progress(p):
        batches.append(p)
        if len(batches) == 5:
            os.kill(os.getpid(), signal.SIGINT)

    # A runner that starts the tests in the background of a non-interactive shell leaves SIGINT
    # ignored, and Python then raises nothing on Ctrl-C: give this test Python's own handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        t0 = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            model.train(interactions, candidates, epochs=200, progress=on_progress)
        assert time.monotonic() - t0 < 30
        assert len(batches) < 50
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert model.num_candidates == 0
    finally:
        signal.signal(signal.SIGINT, previous)


def test_bad_train_options(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    with pytest.raises(twotower.InvalidArgumentError, match="epochs"):
        model.train(interactions, candidates, epochs=0)
    with pytest.raises(twotower.InvalidArgumentError, match="eval_every"):
        model.train(interactions, candidates, eval_every=-3)
    # A candidate column the interactions lack is joined from the catalogue; a query column is not.
    no_timestamp = {k: v for k, v in synthetic_columns()[0].items() if k != "timestamp"}
    with pytest.raises(twotower.InvalidArgumentError, match="timestamp"):
        model.train(no_timestamp, candidates, epochs=1)


def test_evaluate(trained, synthetic):
    interactions, candidates = synthetic
    m = trained.evaluate(interactions, candidates)
    assert m.examples == 1200 and m.k == (1, 5, 10)
    assert m[10] > 0.9
    distinct = trained.evaluate(interactions, candidates, distinct_candidates=True)
    assert distinct.examples == 1200
    untrained = twotower.Model(SYN_SPEC)
    with pytest.raises(twotower.InvalidArgumentError, match="needs a trained or loaded model"):
        untrained.evaluate(interactions, candidates)


def test_other_python_threads_run_during_training(synthetic):
    """tt_model_train runs without the GIL: while a worker thread trains (no progress callback,
    so Python never runs on that thread meanwhile), this thread keeps running Python code
    without a long stall."""
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    done = threading.Event()
    errors = []

    def train():
        try:
            model.train(interactions, candidates, epochs=600, threads=1)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=train)
    t0 = last = time.monotonic()
    worker.start()
    count, longest = 0, 0.0
    while not done.is_set():
        count += 1
        now = time.monotonic()
        longest = max(longest, now - last)
        last = now
    worker.join()
    elapsed = time.monotonic() - t0
    assert not errors, errors
    assert model.num_candidates == 30
    # Training takes about a second; holding the GIL would stall this loop for all of it.
    assert longest < 0.25 and longest < elapsed / 3, f"stalled {longest:.3f}s of {elapsed:.3f}s"
    assert count > 1000


def test_recipe_options_and_most_popular_baseline(synthetic, tmp_path):
    """The recipe's options live in the spec; every evaluation carries the most-popular baseline."""
    interactions, candidates = synthetic
    spec = dict(SYN_SPEC)
    spec["task"] = {"sampling_probability": "counts", "uniform_negatives": 8}
    spec["training"] = dict(SYN_SPEC["training"], eval_every=1, patience=2, early_stopping_k=10)
    spec["data"] = dict(SYN_SPEC["data"], validation_rows=100)
    model = twotower.Model(spec)
    metrics = model.train(interactions, candidates, epochs=6, threads=1)
    assert len(metrics.baseline) == len(metrics.k) == 3
    assert all(0.0 <= b <= 1.0 for b in metrics.baseline)
    # 5 groups of 6 items, one list for everybody: at best a group's 6 items... of 30.
    assert metrics.baseline[2] < 0.6
    assert metrics[10] > metrics.baseline[2]
    assert metrics.not_beating_baseline() == [k for k, a, b in zip(metrics.k, metrics.accuracy, metrics.baseline) if a <= b]
    md = model.metadata
    assert model.spec["task"]["sampling_probability"] == "counts"
    assert model.spec["data"]["validation_rows"] == 100
    # tt_model_evaluate finds the training counts in the model (also after a save and load).
    again = model.evaluate(interactions, candidates)
    assert len(again.baseline) == 3
    assert md["epochs"] >= 1
    model.save(tmp_path / "recipe.tt")
    loaded = twotower.Model.load(tmp_path / "recipe.tt")
    assert loaded.evaluate(interactions, candidates) == again


def history_spec(**history) -> dict:
    """SYN_SPEC with data.history (the user's earlier items) read by a multi_value_lookup."""
    spec = dict(SYN_SPEC)
    feature = {"name": "history", "column": "watched", "kind": "multi_value_lookup", "embedding_dim": 8}
    spec["query_tower"] = dict(SYN_SPEC["query_tower"], features=SYN_SPEC["query_tower"]["features"] + [feature])
    defaults = {"column": "watched", "user_column": "user_id", "time_column": "timestamp", "max_items": 10}
    spec["data"] = dict(SYN_SPEC["data"], history=dict(defaults, **history))
    return spec


def with_watched(columns: dict, max_items: int) -> dict:
    """The interactions with each row's history as data.history builds it (rows in time order)."""
    seen: dict = {}
    watched = []
    for user, item in zip(columns["user_id"], columns["item_id"]):
        watched.append("|".join(seen.get(user, [])[-max_items:]))
        seen.setdefault(user, []).append(item)
    return dict(columns, watched=watched)


def test_recipe_options_watch_history(synthetic):
    """data.history builds the column the query feature reads; a query supplies it itself."""
    interactions, candidates = synthetic
    model = twotower.Model(history_spec())
    metrics = model.train(interactions, candidates, epochs=4, threads=1)
    assert model.spec["data"]["history"]["column"] == "watched"
    assert metrics[10] > 0.9
    # Evaluation reads the query columns it is given: the history column too.
    with pytest.raises(twotower.InvalidArgumentError, match="'watched'"):
        model.evaluate(interactions, candidates)
    again = model.evaluate(twotower.Table(with_watched(synthetic_columns()[0], 10)), candidates)
    assert again.examples == 1200 and again[10] > 0.9 and len(again.baseline) == 3
    # An unknown user: only the history tells the group, and its items lead (24 = 80% of 5 x 6).
    histories = [f"i{6 * g}|i{6 * g + 1}" for g in range(5)]
    ids, _ = model.query({"user_id": ["nobody"] * 5, "timestamp": [1000000] * 5, "watched": histories}, k=6)
    assert sum(int(i) // 6 == g for g, row in enumerate(ids) for i in row) >= 24, ids
    # The same user with another history: other scores.
    q = {"user_id": ["u0", "u0"], "timestamp": [1000000] * 2, "watched": ["i0|i1", "i6|i7"]}
    _, scores = model.query(q, k=30)
    assert not np.allclose(scores[0], scores[1])


def test_recipe_options_watch_history_missing_column(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(history_spec(user_column="nope"))
    with pytest.raises(twotower.InvalidArgumentError, match="data.history.user_column.*'nope'"):
        model.train(interactions, candidates, epochs=1, threads=1)
