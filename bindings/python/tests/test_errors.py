"""Every non-OK status is a twotower.Error subclass carrying the C message and status name."""

import copy
import json
import threading

import numpy as np
import pytest

import twotower
from twotower import errors
from conftest import REPO_ROOT, SYN_SPEC, user_queries


def test_status_classes():
    for status, cls in [
        (1, twotower.InvalidArgumentError),
        (2, twotower.IoError),
        (3, twotower.ParseError),
        (4, twotower.CorruptModelError),
        (5, twotower.UnsupportedError),
        (6, twotower.CancelledError),
        (7, twotower.InternalError),
        (8, twotower.OutOfMemoryError),
    ]:
        e = errors.error_for_status(status, "msg")
        assert type(e) is cls and isinstance(e, twotower.Error)
        assert e.status == status
        assert e.status_name == twotower._lib.tt_status_name(status).decode()
        assert str(e) == f"{e.status_name}: msg"
    assert type(errors.error_for_status(99, "x")) is twotower.Error


def test_bad_spec_json_is_a_parse_error():
    with pytest.raises(twotower.ParseError) as e:
        twotower.Model('{"name": ')
    assert e.value.status_name == "TT_ERR_PARSE"
    assert e.value.message.startswith("tt_model_create: spec: invalid JSON")


def test_bad_spec_field_names_the_field():
    bad = copy.deepcopy(SYN_SPEC)
    bad["training"]["batch_size"] = "many"
    with pytest.raises(twotower.ParseError, match="training.batch_size"):
        twotower.Model(bad)
    bad = copy.deepcopy(SYN_SPEC)
    del bad["query_tower"]
    with pytest.raises(twotower.ParseError, match="query_tower"):
        twotower.Model(bad)


def test_spec_from_string_path_and_file(tmp_path):
    p = tmp_path / "spec.json"
    p.write_text(json.dumps(SYN_SPEC))
    for spec in (json.dumps(SYN_SPEC), p, str(p), SYN_SPEC):
        m = twotower.Model(spec)
        assert m.spec["name"] == "synthetic" and m.num_candidates == 0
        assert m.embedding_dim == 16
    with pytest.raises(twotower.IoError, match="missing.json"):
        twotower.Model(tmp_path / "missing.json")
    with pytest.raises(twotower.InvalidArgumentError, match="expected a dict"):
        twotower.Model(42)
    spec = twotower.Model(REPO_ROOT / "samples" / "movielens" / "deep-32.json").spec
    assert spec["query_tower"]["layers"] == [32]


def test_query_before_training():
    m = twotower.Model(SYN_SPEC)
    for call in (
        lambda: m.query(user_queries([1])),
        lambda: m.embed_queries(user_queries([1])),
        lambda: m.candidate_key(0),
        lambda: m.candidate_id("i1"),
        lambda: m.rebuild_index({"item_id": ["i1"], "title": ["t"]}),
    ):
        with pytest.raises(twotower.InvalidArgumentError, match="needs a trained or loaded model"):
            call()


def test_null_arguments_are_reported_not_crashes():
    lib = twotower._lib
    with pytest.raises(twotower.InvalidArgumentError, match="tt_model_query: model is NULL"):
        lib.tt_model_query(None, None, None, None, None)
    with pytest.raises(twotower.InvalidArgumentError, match="spec_json is NULL"):
        lib.tt_model_create(None, None)
    with pytest.raises(twotower.InvalidArgumentError, match="table is NULL|NULL"):
        lib.tt_table_num_rows(None, None)
    lib.tt_model_free(None)
    lib.tt_table_free(None)


def test_closed_objects(trained):
    m = twotower.Model.from_bytes(trained.to_bytes())
    m.close()
    assert m.closed and "closed" in repr(m)
    with pytest.raises(twotower.InvalidArgumentError, match="Model.query: the model is closed"):
        m.query(user_queries([1]))
    with pytest.raises(twotower.InvalidArgumentError, match="closed"):
        m.metadata
    m.close()
    t = twotower.Table(user_queries([1]))
    t.close()
    with pytest.raises(twotower.InvalidArgumentError, match="the table is closed"):
        trained.query(t)


def test_context_manager_and_gc(trained):
    data = trained.to_bytes()
    with twotower.Model.from_bytes(data) as m:
        assert m.num_candidates == 30
    assert m.closed
    for _ in range(20):  # __del__ frees what was not closed
        twotower.Model.from_bytes(data)
        twotower.Table(user_queries(range(5)))


def test_messages_are_per_thread(trained):
    """tt_last_error is per thread: each thread's exception carries its own message."""
    results = {}

    def fail(name, call):
        try:
            call()
        except twotower.Error as e:
            results[name] = e.message

    threads = [
        threading.Thread(target=fail, args=("key", lambda: trained.candidate_key(1000))),
        threading.Thread(target=fail, args=("bytes", lambda: twotower.Model.from_bytes(b"xx"))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "candidate id 1000" in results["key"]
    assert "tt_model_load_from_buffer_v2" in results["bytes"]


def test_busy_model_refuses_queries_during_training(synthetic):
    interactions, candidates = synthetic
    model = twotower.Model(SYN_SPEC)
    seen = []

    def query_from_callback(p):
        try:
            model.query(user_queries([1]))
        except twotower.InvalidArgumentError as e:
            seen.append(str(e))
        return False

    with pytest.raises(twotower.CancelledError):
        model.train(interactions, candidates, epochs=1, progress=query_from_callback)
    assert seen and "busy in Model.train" in seen[0]
