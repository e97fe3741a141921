#!/usr/bin/env python3
"""Training against the peers (issue 14): twotower, a PyTorch implementation of the TFRS deep
retrieval tutorial and the real TFRS, on MovieLens 100k with the [32] towers, the same number of
epochs with FactorizedTopK evaluation every 5, one after the other on the same machine.

Each system runs in a process of its own (its own thread pool, nothing shared) and prints one JSON
line; this driver prints seconds per epoch (training and evaluations included), top-100 and the
ratios to twotower. Run through bench/peers-training.sh, which makes the venv. Benchmark-only:
never a dependency of the library, never run in CI.
"""
import argparse
import json
import os
import re
import string
import subprocess
import sys
import tempfile
import time

import numpy as np

KS = (1, 5, 10, 50, 100)


# ---------------------------------------------------------------- MovieLens, as TFDS gives it
def load_movielens(data_dir):
    """Ratings (user_id str, movie_title str, timestamp int64) and the catalogue's 1682 titles."""
    titles = {}
    with open(os.path.join(data_dir, "u.item"), encoding="iso-8859-1") as f:
        for line in f:
            fields = line.rstrip("\n").split("|")
            titles[fields[0]] = fields[1]
    users, movie_titles, ts = [], [], []
    with open(os.path.join(data_dir, "u.data"), encoding="ascii") as f:
        for line in f:
            u, i, _, t = line.split("\t")
            users.append(u)
            movie_titles.append(titles[i])
            ts.append(int(t))
    catalogue = [titles[k] for k in sorted(titles, key=int)]
    return np.array(users), np.array(movie_titles), np.array(ts, dtype=np.int64), catalogue


def split(n, seed=42, train=80_000, test=20_000):
    order = np.random.default_rng(seed).permutation(n)
    return order[:train], order[train : train + test]


# ---------------------------------------------------------------- PyTorch implementation
def tokenize(title):
    title = title.lower().translate(str.maketrans("", "", string.punctuation))
    return [t for t in re.split(r"[ \t\n\r\f\v]+", title) if t]


def run_torch(args):
    import torch

    torch.manual_seed(42)
    torch.set_num_threads(args.threads or os.cpu_count())
    users, titles, ts, catalogue = load_movielens(args.data)
    user_vocab = {u: i + 1 for i, u in enumerate(sorted(set(users), key=lambda s: s.encode()))}
    title_vocab = {t: i + 1 for i, t in enumerate(sorted(set(catalogue), key=lambda s: s.encode()))}
    boundaries = np.linspace(ts.min(), ts.max(), 1000)
    mean, std = ts.astype(np.float64).mean(), ts.astype(np.float64).std()
    counts = {}
    for t in catalogue:
        for tok in tokenize(t):
            counts[tok] = counts.get(tok, 0) + 1
    ranked = sorted(counts, key=lambda tok: (-counts[tok], tuple(-b for b in tok.encode())))
    token_vocab = {tok: i + 2 for i, tok in enumerate(ranked[: 10_000 - 2])}

    def encode_titles(ts_):
        ids = [[token_vocab.get(tok, 1) for tok in tokenize(t)] for t in ts_]
        width = max(1, max(len(i) for i in ids))
        out = np.zeros((len(ids), width), dtype=np.int64)
        for r, i in enumerate(ids):
            out[r, : len(i)] = i
        return torch.from_numpy(out)

    q_user = torch.tensor([user_vocab.get(u, 0) for u in users])
    q_bucket = torch.from_numpy(np.searchsorted(boundaries, ts, side="right").astype(np.int64))
    q_norm = torch.from_numpy(((ts - mean) / std).astype(np.float32)).unsqueeze(1)
    c_title = torch.tensor([title_vocab.get(t, 0) for t in titles])
    c_tokens = encode_titles(titles)
    cat_title = torch.tensor([title_vocab.get(t, 0) for t in catalogue])
    cat_tokens = encode_titles(catalogue)

    nn = torch.nn

    def embedding(rows):
        e = nn.Embedding(rows, 32)
        nn.init.uniform_(e.weight, -0.05, 0.05)
        return e

    def dense(i, o):
        lin = nn.Linear(i, o)
        nn.init.xavier_uniform_(lin.weight)
        nn.init.zeros_(lin.bias)
        return lin

    class Query(nn.Module):
        def __init__(self):
            super().__init__()
            self.user, self.bucket, self.out = embedding(len(user_vocab) + 1), embedding(1001), dense(65, 32)

        def forward(self, u, b, n):
            return self.out(torch.cat([self.user(u), self.bucket(b), n], 1))

    class Candidate(nn.Module):
        def __init__(self):
            super().__init__()
            self.title, self.tokens, self.out = embedding(len(title_vocab) + 1), embedding(10_000), dense(64, 32)

        def forward(self, t, tok):
            mask = (tok != 0).float().unsqueeze(2)
            pooled = (self.tokens(tok) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            return self.out(torch.cat([self.title(t), pooled], 1))

    query, cand = Query(), Candidate()
    params = list(query.parameters()) + list(cand.parameters())
    opt = torch.optim.Adagrad(params, lr=0.1, initial_accumulator_value=0.1, eps=1e-7)
    train_idx, test_idx = split(len(users))
    train_idx, test_idx = torch.from_numpy(train_idx), torch.from_numpy(test_idx)
    gen = torch.Generator().manual_seed(42)

    def evaluate():
        with torch.no_grad():
            cat = cand(cat_title, cat_tokens)
            hits = np.zeros(len(KS))
            for b in range(0, len(test_idx), 4096):
                r = test_idx[b : b + 4096]
                q = query(q_user[r], q_bucket[r], q_norm[r])
                pos = (q * cand(c_title[r], c_tokens[r])).sum(1, keepdim=True)
                higher = (q @ cat.T > pos).sum(1)
                higher[~torch.isfinite(pos.squeeze(1))] = 1 << 30
                hits += [(higher < k).sum().item() for k in KS]
            return hits / len(test_idx)

    history = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for b in range(0, len(order), 2048):
            r = order[b : b + 2048]
            q = query(q_user[r], q_bucket[r], q_norm[r])
            c = cand(c_title[r], c_tokens[r])
            loss = nn.functional.cross_entropy(q @ c.T, torch.arange(len(r)), reduction="sum")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rec = {"epoch": epoch, "seconds": time.perf_counter() - t0}
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            e0 = time.perf_counter()
            rec["top_100"] = float(evaluate()[KS.index(100)])
            rec["eval_seconds"] = time.perf_counter() - e0
        history.append(rec)
    return {"system": "pytorch " + torch.__version__, "total": time.perf_counter() - start, "history": history}


# ---------------------------------------------------------------- TFRS, the tutorial's code
def run_tfrs(args):
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf
    import tensorflow_recommenders as tfrs

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    users, titles, ts, catalogue = load_movielens(args.data)
    tf.random.set_seed(42)
    ratings = tf.data.Dataset.from_tensor_slices({"user_id": users, "movie_title": titles, "timestamp": ts})
    movies = tf.data.Dataset.from_tensor_slices(np.array(catalogue))
    unique_user_ids = np.unique(users)
    unique_movie_titles = np.unique(np.array(catalogue))
    timestamp_buckets = np.linspace(ts.min(), ts.max(), num=1000)

    class UserModel(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.user_embedding = tf.keras.Sequential(
                [
                    tf.keras.layers.StringLookup(vocabulary=unique_user_ids, mask_token=None),
                    tf.keras.layers.Embedding(len(unique_user_ids) + 1, 32),
                ]
            )
            self.timestamp_embedding = tf.keras.Sequential(
                [
                    tf.keras.layers.Discretization(timestamp_buckets.tolist()),
                    tf.keras.layers.Embedding(len(timestamp_buckets) + 1, 32),
                ]
            )
            self.normalized_timestamp = tf.keras.layers.Normalization(axis=None)
            self.normalized_timestamp.adapt(ts.astype(np.float64))

        def call(self, inputs):
            return tf.concat(
                [
                    self.user_embedding(inputs["user_id"]),
                    self.timestamp_embedding(inputs["timestamp"]),
                    tf.reshape(self.normalized_timestamp(inputs["timestamp"]), (-1, 1)),
                ],
                axis=1,
            )

    class MovieModel(tf.keras.Model):
        def __init__(self):
            super().__init__()
            max_tokens = 10_000
            self.title_embedding = tf.keras.Sequential(
                [
                    tf.keras.layers.StringLookup(vocabulary=unique_movie_titles, mask_token=None),
                    tf.keras.layers.Embedding(len(unique_movie_titles) + 1, 32),
                ]
            )
            self.title_vectorizer = tf.keras.layers.TextVectorization(max_tokens=max_tokens)
            self.title_text_embedding = tf.keras.Sequential(
                [
                    self.title_vectorizer,
                    tf.keras.layers.Embedding(max_tokens, 32, mask_zero=True),
                    tf.keras.layers.GlobalAveragePooling1D(),
                ]
            )
            self.title_vectorizer.adapt(movies)

        def call(self, titles):
            return tf.concat([self.title_embedding(titles), self.title_text_embedding(titles)], axis=1)

    class Tower(tf.keras.Model):
        def __init__(self, features, layer_sizes):
            super().__init__()
            self.embedding_model = features
            self.dense_layers = tf.keras.Sequential()
            for size in layer_sizes[:-1]:
                self.dense_layers.add(tf.keras.layers.Dense(size, activation="relu"))
            for size in layer_sizes[-1:]:
                self.dense_layers.add(tf.keras.layers.Dense(size))

        def call(self, inputs):
            return self.dense_layers(self.embedding_model(inputs))

    class MovielensModel(tfrs.models.Model):
        def __init__(self, layer_sizes):
            super().__init__()
            self.query_model = Tower(UserModel(), layer_sizes)
            self.candidate_model = Tower(MovieModel(), layer_sizes)
            self.task = tfrs.tasks.Retrieval(
                metrics=tfrs.metrics.FactorizedTopK(candidates=movies.batch(128).map(self.candidate_model))
            )

        def compute_loss(self, features, training=False):
            q = self.query_model({"user_id": features["user_id"], "timestamp": features["timestamp"]})
            c = self.candidate_model(features["movie_title"])
            return self.task(q, c, compute_metrics=not training)

    shuffled = ratings.shuffle(100_000, seed=42, reshuffle_each_iteration=False)
    train = shuffled.take(80_000)
    test = shuffled.skip(80_000).take(20_000)
    cached_train = train.shuffle(100_000).batch(2048)
    cached_test = test.batch(4096).cache()
    model = MovielensModel([32])
    model.compile(optimizer=tf.keras.optimizers.Adagrad(0.1))

    class Clock(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_test_begin(self, logs=None):
            self.e0 = time.perf_counter()

        def on_test_end(self, logs=None):
            self.eval_seconds = time.perf_counter() - self.e0

        def on_epoch_end(self, epoch, logs=None):
            rec = {"epoch": epoch + 1, "seconds": time.perf_counter() - self.t0}
            top100 = (logs or {}).get("val_factorized_top_k/top_100_categorical_accuracy")
            if top100 is not None:
                rec["top_100"] = float(top100)
                rec["eval_seconds"] = self.eval_seconds
                rec["seconds"] -= self.eval_seconds
            self.history.append(rec)

    clock = Clock()
    start = time.perf_counter()
    model.fit(
        cached_train,
        validation_data=cached_test,
        validation_freq=args.eval_every,
        epochs=args.epochs,
        verbose=0,
        callbacks=[clock],
    )
    return {"system": "tfrs (tensorflow " + tf.__version__ + ")", "total": time.perf_counter() - start,
            "history": clock.history}


# ---------------------------------------------------------------- twotower, through its CLI
def run_twotower(args):
    with tempfile.TemporaryDirectory() as tmp:
        history = os.path.join(tmp, "history.json")
        spec = json.load(open(os.path.join(args.root, "samples/movielens/deep-32.json")))
        spec["training"]["eval_every"] = args.eval_every
        spec_path = os.path.join(tmp, "spec.json")
        json.dump(spec, open(spec_path, "w"))
        cmd = [args.twotower, "train", "--spec", spec_path, "--data", args.data, "--epochs", str(args.epochs),
               "--history", history, "--quiet"]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        h = json.load(open(history))
    recs = []
    for e in h["history"]:
        r = {"epoch": e["epoch"], "seconds": e["seconds"]}
        if "top_100" in e or "factorized_top_k/top_100_categorical_accuracy" in e:
            r["top_100"] = e.get("top_100", e.get("factorized_top_k/top_100_categorical_accuracy"))
            r["eval_seconds"] = e["eval_seconds"]
        recs.append(r)
    return {"system": "twotower", "total": h["seconds"], "history": recs}


RUNNERS = {"twotower": run_twotower, "pytorch": run_torch, "tfrs": run_tfrs}


def summary(result):
    h = result["history"]
    train = sum(e["seconds"] for e in h)
    evals = [e for e in h if "eval_seconds" in e]
    eval_s = sum(e["eval_seconds"] for e in evals)
    return {
        "per_epoch": (train + eval_s) / len(h),
        "train_per_epoch": train / len(h),
        "per_eval": eval_s / len(evals) if evals else 0.0,
        "top_100": evals[-1]["top_100"] if evals else float("nan"),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=os.environ.get("TWOTOWER_DATA", ""))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="0: each system's default (all cores)")
    p.add_argument("--systems", default="twotower,pytorch,tfrs")
    p.add_argument("--twotower", help="the twotower CLI")
    p.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--run", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.data:
        args.data = os.path.join(args.root, "..", "shared", "data", "ml-100k")
    if args.run:
        print(json.dumps(RUNNERS[args.run](args)))
        return
    load = open("/proc/loadavg").read().split()[:3]
    print(f"peers: MovieLens 100k, [32], {args.epochs} epochs, evaluation every {args.eval_every}; "
          f"{os.cpu_count()} cores; load {' '.join(load)}")
    if args.twotower and "twotower" in args.systems.split(","):
        # The instruction sets twotower runs with (TWOTOWER_MAX_ISA, DNNL_MAX_CPU_ISA cap them).
        version = subprocess.run([args.twotower, "--version"], check=True, capture_output=True, text=True).stdout
        print(next((line for line in version.splitlines() if line.startswith("ISA:")), "ISA: not reported"))
    results = {}
    for name in args.systems.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--run", name, "--data", args.data, "--epochs",
               str(args.epochs), "--eval-every", str(args.eval_every), "--threads", str(args.threads), "--root",
               args.root] + (["--twotower", args.twotower] if args.twotower else [])
        env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, text=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
        s = summary(results[name])
        print(f"  {results[name]['system']:<34} {s['per_epoch']:8.3f} s/epoch (training {s['train_per_epoch']:.3f}"
              f" s, {s['per_eval']:.3f} s per evaluation)  top-100 {s['top_100']:.4f}", flush=True)
    if "twotower" in results:
        base = summary(results["twotower"])["per_epoch"]
        for name, r in results.items():
            if name != "twotower":
                print(f"  twotower is {summary(r)['per_epoch'] / base:.1f}x faster per epoch than {r['system']}")
    print(f"load after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    main()
