"""Issue 18, "small catalogues without overhead": the Python layers of bench/bindings-latency.sh.

  latency.py gen DIR N D Q SEED       writes DIR/base.f32 (N x D) and DIR/queries.f32 (Q x D):
                                      raw little-endian float32, uniform in [-1, 1], seeded
  latency.py python DIR N D Q K WARM  twotower.VectorIndex (bindings/python, library defaults)
  latency.py faiss DIR N D Q K WARM   faiss.IndexFlatIP, at 1 thread and at all cores

Each measurement times the search call alone, one query ([1, D] row) at a time, k results,
after WARM untimed queries, and prints the line every layer prints: RESULT layer p50_ms p99_ms
sum-of-top-keys (the sums must agree: same answers).
"""
import sys
import time

import numpy as np


def load(d, n, dim, q):
    base = np.fromfile(f"{d}/base.f32", dtype="<f4", count=n * dim).reshape(n, dim)
    queries = np.fromfile(f"{d}/queries.f32", dtype="<f4", count=q * dim).reshape(q, dim)
    return base, queries


def measure(layer, search, queries, warm):
    rows = [queries[i:i + 1] for i in range(len(queries))]
    for i in range(warm):
        search(rows[i % len(rows)])
    ms = np.empty(len(rows))
    top = 0
    for i, row in enumerate(rows):
        t0 = time.perf_counter()
        keys = search(row)
        ms[i] = (time.perf_counter() - t0) * 1e3
        top += int(keys[0, 0])
    ms.sort()
    print(f"RESULT {layer} {ms[len(ms) // 2]:.4f} {ms[len(ms) * 99 // 100]:.4f} {top}", flush=True)


def main():
    mode, d = sys.argv[1], sys.argv[2]
    if mode == "gen":
        n, dim, q, seed = map(int, sys.argv[3:7])
        rng = np.random.default_rng(seed)
        rng.uniform(-1, 1, size=(n, dim)).astype("<f4").tofile(f"{d}/base.f32")
        rng.uniform(-1, 1, size=(q, dim)).astype("<f4").tofile(f"{d}/queries.f32")
        return
    n, dim, q, k, warm = map(int, sys.argv[3:8])
    base, queries = load(d, n, dim, q)
    if mode == "python":
        import twotower

        index = twotower.VectorIndex(dim)
        index.add(base)
        measure("Python", lambda row: index.search(row, k=k)[0], queries, warm)
    elif mode == "faiss":
        import faiss

        index = faiss.IndexFlatIP(dim)
        index.add(base)
        cores = faiss.omp_get_max_threads()
        for threads in (1, cores):
            faiss.omp_set_num_threads(threads)
            measure(f"Faiss-IndexFlatIP-{threads}-thread", lambda row: index.search(row, k)[1], queries, warm)
    else:
        sys.exit(f"latency.py: unknown mode {mode}")


if __name__ == "__main__":
    main()
