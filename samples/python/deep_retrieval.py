#!/usr/bin/env python3
"""The TensorFlow Recommenders "deep retrieval" tutorial through the twotower Python binding.

Trains the three model sizes of the tutorial on MovieLens 100k -- query and candidate towers of
[32], [64, 32] and [128, 64, 32] (samples/movielens/deep-*.json) -- prints their FactorizedTopK
accuracies, and plots top-100 accuracy against epoch, collected through the progress callback.

    python3 samples/python/deep_retrieval.py [--epochs 300] [--data DIR] [--plot curves.png]

Needs the package (pip install ./bindings/python) and, for --plot, matplotlib. MovieLens comes
from --data, else $TWOTOWER_DATA, else ../shared/data/ml-100k beside the repository.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import twotower

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CONFIGS = [  # (label, spec)
    ("1 layer  [32]", REPO / "samples" / "movielens" / "deep-32.json"),
    ("2 layers [64, 32]", REPO / "samples" / "movielens" / "deep-64-32.json"),
    ("3 layers [128, 64, 32]", REPO / "samples" / "movielens" / "deep-128-64-32.json"),
]


def data_dir(arg: str | None) -> str:
    d = arg or os.environ.get("TWOTOWER_DATA") or str(REPO.parent / "shared" / "data" / "ml-100k")
    if not (Path(d) / "u.data").exists():
        sys.exit(f"deep_retrieval: no MovieLens 100k in {d} (pass --data DIR or set TWOTOWER_DATA; "
                 f"tools/fetch-movielens.sh DIR downloads it)")
    return d


def train_one(label, spec, ratings, movies, args):
    """Trains one configuration; returns (metrics, [(epoch, top-100)], seconds)."""
    curve = []

    def progress(p: twotower.Progress):
        if p.metrics is not None:
            curve.append((p.epoch, p.metrics[100]))
            print(f"  {label}: epoch {p.epoch:3d}/{p.epochs}  loss {p.loss:9.2f}  top-100 {p.metrics[100]:.4f}",
                  flush=True)

    t0 = time.monotonic()
    with twotower.Model(spec) as model:
        metrics = model.train(ratings, movies, epochs=args.epochs, eval_every=args.eval_every, seed=args.seed,
                              threads=args.threads, progress=progress)
        if args.save_dir:
            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            model.save(Path(args.save_dir) / (Path(spec).stem + ".tt"))
    return metrics, curve, time.monotonic() - t0


def plot(results, path: str, epochs: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, (_, curve, _) in results.items():
        xs, ys = zip(*curve) if curve else ((), ())
        ax.plot(xs, ys, marker="o" if len(xs) < 20 else None, label=" ".join(label.split()))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("top-100 accuracy (held-out)")
    ax.set_title(f"MovieLens 100k deep retrieval, twotower {twotower.__version__} ({epochs} epochs)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"plot: {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=300, help="epochs per model (default 300, as in the tutorial)")
    ap.add_argument("--data", help="MovieLens 100k directory (default $TWOTOWER_DATA, else ../shared/data/ml-100k)")
    ap.add_argument("--plot", metavar="FILE", help="save a PNG of top-100 accuracy against epoch")
    ap.add_argument("--eval-every", type=int, default=None, help="evaluate every N epochs (default: the spec's, 5)")
    ap.add_argument("--seed", type=int, default=None, help="shuffling seed (default: the spec's)")
    ap.add_argument("--threads", type=int, default=0, help="training threads (0: all cores)")
    ap.add_argument("--save-dir", help="also save each trained model there")
    args = ap.parse_args(argv)
    if args.epochs < 1:
        ap.error("--epochs must be >= 1")

    print(f"twotower {twotower.__version__} ({twotower.library_path})")
    ratings, movies = twotower.load_movielens(data_dir(args.data))
    print(f"MovieLens 100k: {ratings.num_rows} ratings, {movies.num_rows} movies")

    results = {}
    for label, spec in CONFIGS:
        print(f"training {label} for {args.epochs} epochs", flush=True)
        results[label] = train_one(label, spec, ratings, movies, args)

    ks = next(iter(results.values()))[0].k
    header = f"{'model':<24}" + "".join(f"{'top-' + str(k):>9}" for k in ks) + f"{'seconds':>9}"
    print()
    print(f"FactorizedTopK accuracy after {args.epochs} epochs (held-out 20,000 ratings)")
    print(header)
    print("-" * len(header))
    for label, (metrics, _, seconds) in results.items():
        print(f"{label:<24}" + "".join(f"{a:9.4f}" for a in metrics.accuracy) + f"{seconds:9.1f}")
    if args.plot:
        plot(results, args.plot, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
