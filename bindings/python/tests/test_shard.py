"""Sharded serving: Model.shard, Model.shard_info, merge_topk and convert(shard=...): the shards'
merged answers equal the unsharded model's, ids and scores, for 1, 2 and 3 shards."""

import numpy as np
import pytest

import twotower
from conftest import SYN_USERS, user_queries


def shard_of(trained, i, count):
    m = twotower.Model.from_bytes(trained.to_bytes())
    m.shard(i, count)
    return m


@pytest.mark.parametrize("count", [1, 2, 3])
def test_merged_shards_answer_as_the_whole_model(trained, count):
    shards = [shard_of(trained, i, count) for i in range(count)]
    try:
        # Calls of up to 4 rows are bit for bit (larger batches: within float rounding).
        for first in range(0, SYN_USERS, 4):
            q = user_queries(list(range(first, first + 4)))
            for kwargs in [dict(k=5), dict(k=30), dict(k=4, exclude_keys=[["i2", "i20"]] * 4)]:
                want_ids, want_scores = trained.query(q, **kwargs)
                answers = [s.query(q, **kwargs) for s in shards]
                ids, scores = twotower.merge_topk(answers, kwargs["k"])
                assert np.array_equal(ids, want_ids)
                assert np.array_equal(scores.view(np.uint32), want_scores.view(np.uint32))
    finally:
        for s in shards:
            s.close()


def test_shard_ids_are_catalogue_rows(trained, tmp_path):
    with shard_of(trained, 1, 3) as s:
        assert s.shard_info() == twotower.ShardInfo(1, 3, 10, 10, 30)
        assert trained.shard_info() == (0, 1, 0, 30, 30)
        assert s.candidate_key(12) == trained.candidate_key(12)
        with pytest.raises(twotower.InvalidArgumentError, match="outside 10..19"):
            s.candidate_key(3)
        ids, _ = s.query(user_queries([0]), k=10, allow=[2, 11, 15, 25])
        assert sorted(i for i in ids[0] if i >= 0) == [11, 15]
        with pytest.raises(twotower.InvalidArgumentError, match="already shard 1 of 3"):
            s.shard(0, 2)
    trained.save(tmp_path / "whole.tt")
    twotower.convert(tmp_path / "whole.tt", tmp_path / "s.tt", shard=(2, 3))
    with twotower.Model.load(tmp_path / "s.tt") as loaded:
        assert loaded.shard_info() == (2, 3, 20, 10, 30)


def test_merge_topk_orders_pads_and_refuses_overlaps():
    a = (np.array([[4, 1]]), np.array([[2.0, 1.0]], np.float32))
    b = (np.array([[7]]), np.array([[2.0]], np.float32))
    ids, scores = twotower.merge_topk([a, b], 4)
    assert ids.tolist() == [[4, 7, 1, -1]]
    assert scores[0, :3].tolist() == [2.0, 2.0, 1.0] and scores[0, 3] == -np.inf
    with pytest.raises(twotower.InvalidArgumentError, match="id 1 is in list 0 and list 1"):
        twotower.merge_topk([a, (np.array([[1]]), np.array([[3.0]], np.float32))], 2)
    with pytest.raises(twotower.InvalidArgumentError, match="k is 0"):
        twotower.merge_topk([a], 0)
