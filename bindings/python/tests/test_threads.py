"""One model queried from several Python threads at once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import twotower
from conftest import user_queries


def test_concurrent_queries_are_identical(trained):
    model = twotower.Model.from_bytes(trained.to_bytes())
    batches = [user_queries([(7 * b + i) % 40 for i in range(25)]) for b in range(8)]
    expected = [model.query(b, k=7, exclude=[[b_i % 30] for b_i in range(25)]) for b in batches]
    expected_emb = [model.embed_queries(b) for b in batches]
    start = threading.Barrier(8)

    def worker(w):
        start.wait()
        out = []
        for rep in range(30):
            b = (w + rep) % len(batches)
            ids, scores = model.query(batches[b], k=7, exclude=[[b_i % 30] for b_i in range(25)])
            emb = model.embed_queries(batches[b])
            out.append((b, ids, scores, emb, model.candidate_key(int(ids[0, 0]))))
        return out

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8)))
    for out in results:
        for b, ids, scores, emb, key in out:
            np.testing.assert_array_equal(ids, expected[b][0])
            np.testing.assert_array_equal(scores, expected[b][1])
            np.testing.assert_array_equal(emb, expected_emb[b])
            assert key == model.candidate_key(int(expected[b][0][0, 0]))


def test_close_waits_for_running_queries(trained):
    model = twotower.Model.from_bytes(trained.to_bytes())
    q = user_queries(list(range(40)) * 50)
    errors = []

    def query_loop():
        for _ in range(20):
            try:
                model.query(q, k=10)
            except twotower.InvalidArgumentError as e:
                if "the model is closed" not in str(e):
                    errors.append(e)
                return
            except Exception as e:  # pragma: no cover
                errors.append(e)
                return

    threads = [threading.Thread(target=query_loop) for _ in range(4)]
    for t in threads:
        t.start()
    model.close()
    for t in threads:
        t.join()
    assert not errors
    assert model.closed
