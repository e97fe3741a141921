"""Serving additions: a ModelSlot swapped under load, model clones, exclusion and allow lists
by key, reading tables back, and the index's candidate embeddings."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import twotower
from conftest import SYN_ITEMS, synthetic_columns, user_queries


def test_slot_swaps_under_load(trained):
    _, candidates = synthetic_columns()
    small = {"item_id": ["i0", "i1", "i2"], "title": ["item 0", "item 1", "item 2"]}
    catalogues = [candidates, small]  # generation g has catalogues[(g - 1) % 2]
    first = trained.clone()
    slot = twotower.ModelSlot(first)
    assert first.closed  # taken over
    queries = user_queries([0, 1, 2])
    done = threading.Event()

    def reader(_):
        seen, rounds = set(), 0
        while not done.is_set() or rounds < 20:
            model, gen = slot.acquire()
            with model:
                ids, _ = model.query(queries, k=100)
            want = [SYN_ITEMS, 3][(gen - 1) % 2]
            assert (ids[0] >= 0).sum() == want, (gen, ids[0])
            seen.add(gen)
            rounds += 1
        return seen

    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(reader, i) for i in range(6)]
        try:
            for _ in range(10):
                current, gen = slot.acquire()
                with current:
                    nxt = current.clone()
                nxt.rebuild_index(catalogues[gen % 2])
                assert slot.replace(nxt) == gen + 1
                assert nxt.closed
        finally:
            done.set()
        seen = set().union(*(f.result() for f in futures))
    assert len(seen) > 1
    model, gen = slot.acquire()
    assert gen == 11 and model.num_candidates == SYN_ITEMS  # odd generations index every item
    model.close()
    slot.close()


def test_slot_empty_and_closed(trained):
    with twotower.ModelSlot() as slot:
        with pytest.raises(twotower.InvalidArgumentError, match="holds no model"):
            slot.acquire()
        assert slot.replace(trained.clone()) == 1
        model, gen = slot.acquire()
        assert gen == 1
        assert slot.replace(None) == 2
        assert model.num_candidates == SYN_ITEMS  # our reference outlives the replace
        model.close()
    with pytest.raises(twotower.InvalidArgumentError, match="slot is closed"):
        slot.acquire()
    with pytest.raises(twotower.InvalidArgumentError, match="slot is closed"):
        slot.replace(trained)
    assert trained.num_candidates == SYN_ITEMS  # a failed replace leaves the model alone


def test_clone_is_independent(trained):
    clone = trained.clone()
    clone.rebuild_index({"item_id": ["i5"], "title": ["item 5"]})
    assert clone.num_candidates == 1 and trained.num_candidates == SYN_ITEMS
    clone.close()


def test_query_by_keys(trained):
    queries = user_queries([0, 1])
    ids, _ = trained.query(queries, k=SYN_ITEMS)
    best = ids[0]
    keys = list(trained.candidate_keys(best[:2]))
    by_id = trained.query(queries, k=5, exclude=[best[:2], []])
    by_key = trained.query(queries, k=5, exclude_keys=[keys, []])
    np.testing.assert_array_equal(by_id[0], by_key[0])
    np.testing.assert_array_equal(by_id[1], by_key[1])
    allowed, _ = trained.query(queries, k=5, allow_keys=keys, allow=[best[7]])
    assert list(allowed[0][:3]) == [best[0], best[1], best[7]] and (allowed[0][3:] == -1).all()
    none, _ = trained.query(queries, k=3, allow_keys=[])
    assert (none == -1).all()
    with pytest.raises(twotower.InvalidArgumentError, match=r"exclude_keys\[0\]\[0\] is 'gone'"):
        trained.query(queries, exclude_keys=[["gone"], []])
    skipped, _ = trained.query(queries, k=SYN_ITEMS, exclude_keys=[["gone", keys[0]], []], ignore_unknown_keys=True)
    assert (skipped[0] >= 0).sum() == SYN_ITEMS - 1 and (skipped[1] >= 0).sum() == SYN_ITEMS
    with pytest.raises(twotower.InvalidArgumentError, match="one list of keys per query row"):
        trained.query(queries, exclude_keys=[["x"]])
    with pytest.raises(twotower.InvalidArgumentError, match="not one string"):
        trained.query(queries, allow_keys="i1")


def test_table_reads_back(tmp_path):
    t = twotower.Table({"name": ["a", "Star Wars (1977)"], "n": np.array([-1, 2**63 - 1]), "x": [0.5, -2.0]})
    assert t.columns == {"name": "string", "n": "int64", "x": "float32"}
    assert list(t.column("name")) == ["a", "Star Wars (1977)"]
    np.testing.assert_array_equal(t.column("n"), np.array([-1, 2**63 - 1], np.int64))
    assert t.column("x").dtype == np.float32 and list(t.column("x")) == [0.5, -2.0]
    with pytest.raises(twotower.InvalidArgumentError, match=r"unknown column 'nope' \(columns: name, n, x\)"):
        t.column("nope")
    path = tmp_path / "items.csv"
    path.write_text('year,title\n1977,"Star Wars, (1977)"\n1995,Toy Story\n')
    f = twotower.Table.read_file(path, {"title": "string", "year": "int64"})
    assert list(f.column("title")) == ["Star Wars, (1977)", "Toy Story"]
    assert list(f.column("year")) == [1977, 1995]


def test_candidate_embeddings(trained):
    _, candidates = synthetic_columns()
    index = trained.candidate_embeddings()
    assert index.shape == (SYN_ITEMS, trained.embedding_dim) and index.dtype == np.float32
    np.testing.assert_allclose(index, trained.embed_candidates(candidates), atol=1e-5)
    np.testing.assert_array_equal(trained.candidate_embeddings(28, 2), index[28:])
    queries = user_queries([3])
    ids, scores = trained.query(queries, k=5)
    np.testing.assert_allclose(trained.embed_queries(queries)[0] @ index[ids[0]].T, scores[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(twotower.InvalidArgumentError, match="beyond the index's 30"):
        trained.candidate_embeddings(29, 2)
