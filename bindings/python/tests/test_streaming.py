"""Model.train_streamed (issue 17): training from a columnar file through a shuffle buffer or
under a memory limit, and its refusals."""

import copy

import pytest

import twotower
from conftest import SYN_SPEC


def streaming_spec() -> dict:
    spec = copy.deepcopy(SYN_SPEC)
    spec["columns"] = {"user_id": "string", "timestamp": "int64", "item_id": "string", "title": "string"}
    spec["data"] = {"train_rows": 0, "test_rows": 200, "split_seed": 1}  # streaming trains on all but the held-out
    return spec


@pytest.fixture()
def ttc(synthetic, tmp_path):
    path = tmp_path / "clicks.ttc"
    synthetic[0].write_columnar(path)
    return path


def test_train_streamed_with_a_buffer_learns_the_groups(synthetic, ttc):
    with twotower.Model(streaming_spec()) as model:
        metrics = model.train_streamed(ttc, synthetic[1], shuffle_buffer_rows=256, epochs=8, threads=2)
        assert metrics.examples == 200
        assert metrics[10] > 0.3
        # A trained model trains anew only with reset.
        with pytest.raises(twotower.InvalidArgumentError, match="trains a new model"):
            model.train_streamed(ttc, synthetic[1], shuffle_buffer_rows=256)


def test_train_streamed_under_a_memory_limit(synthetic, ttc):
    batches = []
    with twotower.Model(streaming_spec()) as model:
        metrics = model.train_streamed(
            str(ttc), synthetic[1], memory_limit=4 << 30, epochs=1, threads=2, progress=batches.append
        )
        assert metrics.examples == 200
        assert batches and batches[-1].epoch_done
        with pytest.raises(twotower.InvalidArgumentError, match=r"the memory limit of 1\.0 MiB cannot hold"):
            model.train_streamed(ttc, synthetic[1], memory_limit=1 << 20, reset=True)


def test_train_streamed_refusals(synthetic, ttc, tmp_path):
    with twotower.Model(streaming_spec()) as model:
        with pytest.raises(twotower.InvalidArgumentError, match="set shuffle_buffer_rows, memory_limit or both"):
            model.train_streamed(ttc, synthetic[1])
        with pytest.raises(twotower.InvalidArgumentError, match="memory_limit must be >= 0"):
            model.train_streamed(ttc, synthetic[1], memory_limit=-1)
        csv = tmp_path / "clicks.csv"
        csv.write_text("user_id,item_id\nu1,i1\n")
        with pytest.raises(twotower.InvalidArgumentError, match="is not a columnar data file"):
            model.train_streamed(csv, synthetic[1], memory_limit=4 << 30)
