#!/usr/bin/env python3
"""Serving benchmark: twotower against Faiss, ScaNN and USearch (from PyPI) in one process.

For every data set (bench_query's uniform vectors, regenerated bit for bit by twotower's own
generator, and a seeded Gaussian mixture that resembles trained embeddings), every catalogue
size and dimension, it builds each system's exact and approximate indexes on the same vectors
and prints one recall-latency table: recall@k against exact search, single-query latency
(p50, p99; the systems take turns query by query, so load on the machine hits them alike),
and the time of one batch of all queries (best of 2), then the ratios that issue 18 asks
about. twotower runs through bench/serving_shim.cpp (its vector index behind a C interface,
loaded with ctypes). Run it through bench/serving.sh, which builds the shim and makes the venv.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import os
import sys
import time
from ctypes import POINTER, c_double, c_float, c_int, c_int64, c_size_t, c_uint64, c_void_p

import numpy as np


# ---------------------------------------------------------------------------------------------
# twotower through the shim


class Twotower:
    def __init__(self, path: str):
        lib = ctypes.CDLL(path)
        f32p, i64p = POINTER(c_float), POINTER(c_int64)
        lib.tts_error.restype = ctypes.c_char_p
        lib.tts_synthetic.argtypes = [c_size_t, c_size_t, c_size_t, f32p, f32p]
        lib.tts_isa.restype = ctypes.c_char_p
        lib.tts_read_bandwidth.argtypes = [c_int]
        lib.tts_read_bandwidth.restype = c_double
        lib.tts_create.argtypes = [f32p, c_size_t, c_size_t, c_int, POINTER(c_void_p)]
        lib.tts_free.argtypes = [c_void_p]
        lib.tts_free.restype = None
        lib.tts_set_precision.argtypes = [c_void_p, c_int]
        lib.tts_set_serial_bytes.argtypes = [c_void_p, c_size_t]
        lib.tts_build_ann.argtypes = [c_void_p, c_size_t, c_uint64, f32p, c_size_t, POINTER(c_size_t)]
        lib.tts_probe_for_recall.argtypes = [c_void_p, c_double]
        lib.tts_probe_for_recall.restype = c_size_t
        lib.tts_search.argtypes = [c_void_p, f32p, c_size_t, c_size_t, c_double, c_size_t, c_size_t, i64p, f32p]
        self.lib = lib

    def check(self, status: int) -> None:
        if status:
            raise RuntimeError("twotower: " + self.lib.tts_error().decode())

    @staticmethod
    def fp(a: np.ndarray):
        return a.ctypes.data_as(POINTER(c_float))

    def synthetic(self, n: int, d: int, nq: int):
        x = np.empty((n, d), np.float32)
        q = np.empty((nq, d), np.float32)
        self.check(self.lib.tts_synthetic(n, d, nq, self.fp(x), self.fp(q)))
        return x, q


class TwotowerIndex:
    def __init__(self, tt: Twotower, x: np.ndarray, threads: int):
        self.tt = tt
        h = c_void_p()
        tt.check(tt.lib.tts_create(tt.fp(x), x.shape[0], x.shape[1], threads, ctypes.byref(h)))
        self.h = h
        self.d = x.shape[1]

    def __del__(self):
        self.tt.lib.tts_free(self.h)

    def set_precision(self, code: int):
        self.tt.check(self.tt.lib.tts_set_precision(self.h, code))

    def build_ann(self, calibration: np.ndarray | None, partitions: int = 0) -> int:
        out = c_size_t()
        cal = calibration if calibration is not None else np.zeros((0, self.d), np.float32)
        self.tt.check(self.tt.lib.tts_build_ann(self.h, partitions, 0, self.tt.fp(cal), cal.shape[0], ctypes.byref(out)))
        return out.value

    def probe_for_recall(self, r: float) -> int:
        return self.tt.lib.tts_probe_for_recall(self.h, r)

    def search(self, q: np.ndarray, k: int, recall=0.0, probe=0, rescore=0):
        q = np.ascontiguousarray(q.reshape(-1, self.d), np.float32)
        ids = np.empty((q.shape[0], k), np.int64)
        scores = np.empty((q.shape[0], k), np.float32)
        self.tt.check(
            self.tt.lib.tts_search(
                self.h, self.tt.fp(q), q.shape[0], k, recall, probe, rescore,
                ids.ctypes.data_as(POINTER(c_int64)), self.tt.fp(scores),
            )
        )
        return ids


# ---------------------------------------------------------------------------------------------
# Data


def mixture(n: int, nq: int, d: int, clusters: int = 1000, seed: int = 0):
    """A seeded Gaussian mixture: cluster centres of random directions and norms around 1, points
    spread around them (like trained embeddings: clustered, uneven norms), queries from the same
    mixture."""
    rng = np.random.default_rng(1000 + d + seed)
    centres = rng.normal(size=(clusters, d)) / math.sqrt(d)
    centres *= rng.uniform(0.5, 1.5, size=(clusters, 1)) / np.linalg.norm(centres, axis=1, keepdims=True)
    def draw(m):
        c = rng.integers(0, clusters, m)
        return (centres[c] + 0.35 / math.sqrt(d) * rng.normal(size=(m, d))).astype(np.float32)
    return draw(n), draw(nq)


# ---------------------------------------------------------------------------------------------
# Systems: each configuration is (system, setting, kind, one(q) -> ids, batch(Q) -> ids)


class Config:
    def __init__(self, system, setting, kind, one, batch, build_s=0.0):
        self.system, self.setting, self.kind = system, setting, kind
        self.one, self.batch, self.build_s = one, batch, build_s
        self.lat: list[float] = []
        self.batch_s = math.inf
        self.recall = math.nan


def twotower_configs(tt, x, q_cal, k, threads, targets, probes):
    out = []
    t0 = time.perf_counter()
    idx = TwotowerIndex(tt, x, threads)
    build = time.perf_counter() - t0
    out.append(Config("twotower", f"exact f32 ({threads} threads)", "exact", lambda v: idx.search(v, k),
                      lambda Q: idx.search(Q, k), build))
    i8 = TwotowerIndex(tt, x, threads)
    i8.set_precision(3)
    out.append(Config("twotower", "exact: int8 scan + f32 re-score", "exact", lambda v: i8.search(v, k),
                      lambda Q: i8.search(Q, k)))
    t0 = time.perf_counter()
    parts = idx.build_ann(q_cal)
    build = time.perf_counter() - t0
    for r in targets:
        p = idx.probe_for_recall(r)
        out.append(Config("twotower", f"ann {parts} partitions, recall {r} (probe {p})", "approximate",
                          lambda v, p=p: idx.search(v, k, probe=p), lambda Q, p=p: idx.search(Q, k, probe=p), build))
    for frac in probes:
        p = max(1, int(round(parts * frac)))
        out.append(Config("twotower", f"ann probe {p} of {parts}", "approximate",
                          lambda v, p=p: idx.search(v, k, probe=p), lambda Q, p=p: idx.search(Q, k, probe=p), build))
    out.append(idx)  # keep alive
    out.append(i8)
    return out


def faiss_configs(x, k, threads, hnsw, ivf_fracs):
    import faiss

    d = x.shape[1]
    out = []
    flat = faiss.IndexFlatIP(d)
    flat.add(x)

    def single(index, params=None):
        def run(v):
            faiss.omp_set_num_threads(1)
            return index.search(v.reshape(1, -1), k, params=params)[1] if params else index.search(v.reshape(1, -1), k)[1]
        return run

    def batch(index, params=None):
        def run(Q):
            faiss.omp_set_num_threads(threads)
            return index.search(Q, k, params=params)[1] if params else index.search(Q, k)[1]
        return run

    out.append(Config("faiss", f"IndexFlatIP (1 thread single; {threads} batch)", "exact", single(flat), batch(flat)))
    if ivf_fracs:
        nlist = max(1, int(2 * math.sqrt(x.shape[0])))
        t0 = time.perf_counter()
        faiss.omp_set_num_threads(threads)
        ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        ivf.train(x[rng.choice(x.shape[0], min(x.shape[0], 64 * nlist), replace=False)])
        ivf.add(x)
        build = time.perf_counter() - t0
        for frac in ivf_fracs:
            npb = max(1, int(round(nlist * frac)))
            p = faiss.SearchParametersIVF(nprobe=npb)
            out.append(Config("faiss", f"IVFFlat {nlist}, nprobe {npb}", "approximate", single(ivf, p), batch(ivf, p),
                              build))
    if hnsw:
        t0 = time.perf_counter()
        faiss.omp_set_num_threads(threads)
        h = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        h.hnsw.efConstruction = 128
        h.add(x)
        build = time.perf_counter() - t0
        for ef in hnsw:
            p = faiss.SearchParametersHNSW(efSearch=ef)
            out.append(Config("faiss", f"HNSW32, efSearch {ef}", "approximate", single(h, p), batch(h, p), build))
    return out


def scann_configs(x, k, leaves_fracs, reorder):
    import scann

    n = x.shape[0]
    out = []
    bf = scann.scann_ops_pybind.builder(x, k, "dot_product").score_brute_force().build()
    out.append(Config("scann", "brute force (1 thread single; batched_parallel batch)", "exact",
                      lambda v: bf.search(v, final_num_neighbors=k)[0],
                      lambda Q: bf.search_batched_parallel(Q, final_num_neighbors=k)[0]))
    leaves = max(2, int(2 * math.sqrt(n)))
    t0 = time.perf_counter()
    ah = (
        scann.scann_ops_pybind.builder(x, k, "dot_product")
        .tree(num_leaves=leaves, num_leaves_to_search=max(1, leaves // 10), training_sample_size=min(n, 250000))
        .score_ah(2, anisotropic_quantization_threshold=0.2)
        .reorder(reorder)
        .build()
    )
    build = time.perf_counter() - t0
    for frac in leaves_fracs:
        L = max(1, int(round(leaves * frac)))
        out.append(Config("scann", f"tree {leaves} leaves, search {L}, AH, reorder {reorder}", "approximate",
                          lambda v, L=L: ah.search(v, final_num_neighbors=k, pre_reorder_num_neighbors=reorder,
                                                   leaves_to_search=L)[0],
                          lambda Q, L=L: ah.search_batched_parallel(Q, final_num_neighbors=k,
                                                                    pre_reorder_num_neighbors=reorder,
                                                                    leaves_to_search=L)[0], build))
    return out


def usearch_configs(x, k, threads, efs):
    from usearch.index import Index

    n, d = x.shape
    t0 = time.perf_counter()
    index = Index(ndim=d, metric="ip", dtype="f32", connectivity=16, expansion_add=128)
    index.add(np.arange(n), x, threads=threads)
    build = time.perf_counter() - t0
    out = []
    for ef in efs:
        def one(v, ef=ef):
            index.expansion_search = ef
            return np.asarray(index.search(v, k, threads=1).keys).reshape(1, -1)
        def batch(Q, ef=ef):
            index.expansion_search = ef
            return np.asarray(index.search(Q, k, threads=threads).keys)
        out.append(Config("usearch", f"HNSW M16, expansion {ef}", "approximate", one, batch, build))
    return out


# ---------------------------------------------------------------------------------------------
# Measuring


def recall_at_k(truth: np.ndarray, got: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(t.tolist()) & set(g.tolist())) / k for t, g in zip(truth, got)]))


def run_case(tt, args, set_name, n, d):
    nq, k = args.queries, args.k
    if set_name == "uniform":
        x, q = tt.synthetic(n, d, nq)
        cal = None  # candidates and queries come from one distribution: calibrate on candidates
    else:
        x, q = mixture(n, nq, d)
        _, cal = mixture(n, 256, d, seed=1)  # held-out queries of the same mixture
    print(f"\n### {set_name}, {n:,} x {d}, {nq} queries, top-{k}", flush=True)
    bw = tt.lib.tts_read_bandwidth(args.threads)
    read_bound = n * d * 4 / (bw * 1e9)
    print(f"read bandwidth now {bw:.1f} GB/s on {args.threads} threads: float32 read bound {read_bound * 1e3:.3f} ms")

    configs = []
    systems = args.systems.split(",")
    if "twotower" in systems:
        configs += twotower_configs(tt, x, cal, k, args.threads, args.targets, args.twotower_probes)
    if "faiss" in systems:
        configs += faiss_configs(x, k, args.threads, args.hnsw_ef if n <= args.hnsw_max else [], args.ivf)
    if "scann" in systems:
        configs += scann_configs(x, k, args.scann_leaves, args.scann_reorder)
    if "usearch" in systems and n <= args.hnsw_max:
        configs += usearch_configs(x, k, args.threads, args.usearch_ef)
    keep = [c for c in configs if not isinstance(c, Config)]  # handles kept alive
    configs = [c for c in configs if isinstance(c, Config)]

    # Exact answer: twotower's float32 search, checked against Faiss's flat index when present.
    truth = configs[0].batch(q) if configs and configs[0].system == "twotower" else None
    if truth is None:
        import faiss
        flat = faiss.IndexFlatIP(d)
        flat.add(x)
        truth = flat.search(q, k)[1]

    # Batches (best of 2), and recall from them.
    for c in configs:
        for _ in range(2):
            t0 = time.perf_counter()
            ids = c.batch(q)
            c.batch_s = min(c.batch_s, time.perf_counter() - t0)
        c.recall = recall_at_k(truth, np.asarray(ids))
        # A line per configuration as it finishes: a long grid shows where it is and keeps what it measured.
        print(f"  batch: {c.system} {c.setting}: recall {c.recall:.4f}, {c.batch_s:.3f} s, build {c.build_s:.1f} s",
              flush=True)
    # Single queries, the systems taking turns on each query (warm-up first).
    single = min(args.single, nq)
    for i in range(single + 5):
        v = q[i % nq]
        order = configs if i % 2 == 0 else configs[::-1]
        for c in order:
            t0 = time.perf_counter()
            c.one(v)
            dt = time.perf_counter() - t0
            if i >= 5:
                c.lat.append(dt)

    print(f"\n| system | setting | recall@{k} | single p50 ms | single p99 ms | {nq} queries s | queries/s | build s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|", flush=True)
    for c in configs:
        p50, p99 = np.percentile(c.lat, 50) * 1e3, np.percentile(c.lat, 99) * 1e3
        print(f"| {c.system} | {c.setting} | {c.recall:.4f} | {p50:.3f} | {p99:.3f} | {c.batch_s:.3f} | "
              f"{nq / c.batch_s:,.0f} | {c.build_s:.1f} |")

    def p50(c):
        return float(np.percentile(c.lat, 50))

    tw_exact = next((c for c in configs if c.system == "twotower" and c.setting.startswith("exact f32")), None)
    print("\nratios (peer / twotower: > 1 means twotower is faster):")
    if tw_exact:
        print(f"  twotower exact f32 single p50 / read bound: {p50(tw_exact) / read_bound:.2f}x")
        for c in configs:
            if c.kind == "exact" and c.system != "twotower":
                print(f"  exact single, {c.system} {c.setting}: {p50(c) / p50(tw_exact):.2f}x; "
                      f"{nq} queries: {c.batch_s / tw_exact.batch_s:.2f}x")
    for floor in args.recall_floors:
        best = {}
        for c in configs:
            if c.kind == "approximate" and c.recall >= floor:
                b = best.setdefault(c.system, {"single": c, "batch": c})
                if p50(c) < p50(b["single"]):
                    b["single"] = c
                if c.batch_s < b["batch"].batch_s:
                    b["batch"] = c
        tw = best.get("twotower")
        line = f"  recall >= {floor}: "
        if not tw:
            print(line + "twotower reached no such setting")
            continue
        print(line + f"twotower single {p50(tw['single']) * 1e3:.3f} ms ({tw['single'].setting}), "
              f"{nq} queries {tw['batch'].batch_s:.3f} s")
        for sysname, b in best.items():
            if sysname == "twotower":
                continue
            print(f"    {sysname}: single {p50(b['single']) * 1e3:.3f} ms = {p50(b['single']) / p50(tw['single']):.2f}x "
                  f"({b['single'].setting}); {nq} queries {b['batch'].batch_s:.3f} s = "
                  f"{b['batch'].batch_s / tw['batch'].batch_s:.2f}x")
    del keep


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="libtt_bench_serving.so")
    ap.add_argument("--sets", default="uniform,mixture")
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dims", default="32,64")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--single", type=int, default=200, help="single queries per system (taking turns)")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--systems", default="twotower,faiss,scann,usearch")
    ap.add_argument("--targets", default="0.9,0.95,0.99", help="twotower recall targets")
    ap.add_argument("--twotower-probes", default="", help="extra twotower breadths, as fractions of the partitions")
    ap.add_argument("--ivf", default="0.05,0.2,0.4,0.6", help="Faiss IVFFlat nprobe, as fractions of nlist ('' skips)")
    ap.add_argument("--hnsw-ef", default="128,512,2048", help="Faiss HNSW efSearch values ('' skips)")
    ap.add_argument("--usearch-ef", default="128,512,2048")
    ap.add_argument("--hnsw-max", type=int, default=1000000, help="largest catalogue the graph indexes are built for")
    ap.add_argument("--scann-leaves", default="0.05,0.1,0.2,0.3,0.5", help="ScaNN leaves searched, fractions")
    ap.add_argument("--scann-reorder", type=int, default=500)
    ap.add_argument("--recall-floors", default="0.9,0.95")
    args = ap.parse_args()
    floats = lambda s: [float(v) for v in s.split(",") if v]
    ints = lambda s: [int(v) for v in s.split(",") if v]
    args.targets, args.twotower_probes, args.ivf = floats(args.targets), floats(args.twotower_probes), floats(args.ivf)
    args.hnsw_ef, args.usearch_ef = ints(args.hnsw_ef), ints(args.usearch_ef)
    args.scann_leaves, args.recall_floors = floats(args.scann_leaves), floats(args.recall_floors)

    import importlib.metadata as md
    versions = []
    for p in ("numpy", "faiss-cpu", "scann", "usearch"):
        try:
            versions.append(f"{p} {md.version(p)}")
        except md.PackageNotFoundError:
            pass
    print(f"python {sys.version.split()[0]}; " + ", ".join(versions))
    print(f"threads {args.threads}; systems {args.systems}; k {args.k}")
    tt = Twotower(args.lib)
    print("ISA: kernels " + tt.lib.tts_isa().decode())
    for s in args.sets.split(","):
        for n in ints(args.sizes):
            for d in ints(args.dims):
                run_case(tt, args, s, n, d)


if __name__ == "__main__":
    main()
