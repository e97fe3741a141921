#!/usr/bin/env python3
"""Prints the final-accuracy table of training histories (twotower train --history X.csv) and
plots top-100 accuracy against epoch for all of them in one PNG."""
import argparse
import csv
import os
import sys


def read_history(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit(f"{path}: no rows")
    return rows


def label_of(path):
    name = os.path.splitext(os.path.basename(path))[0]
    layers = name.replace("deep-", "").split("-")
    return "[" + ", ".join(layers) + "]" if all(x.isdigit() for x in layers) else name


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("histories", nargs="+", help="CSV files from twotower train --history")
    ap.add_argument("--png", help="write the top-100 plot here")
    args = ap.parse_args()

    histories = {p: read_history(p) for p in args.histories}
    ks = [c for c in next(iter(histories.values()))[0].keys() if c.startswith("top_")]
    print("| layers | epochs | seconds | " + " | ".join(k.replace("_", "-") for k in ks) + " |")
    print("|---|---|---|" + "---|" * len(ks))
    for path, rows in histories.items():
        evaluated = [r for r in rows if r[ks[0]] != ""]
        last = evaluated[-1]
        secs = sum(float(r["seconds"]) + float(r["eval_seconds"]) for r in rows)
        print(f"| {label_of(path)} | {last['epoch']} | {secs:.1f} | " +
              " | ".join(f"{float(last[k]):.4f}" for k in ks) + " |")

    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
        for path, rows in histories.items():
            pts = [(int(r["epoch"]), float(r["top_100"])) for r in rows if r.get("top_100", "") != ""]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label_of(path))
        ax.set_xlabel("epoch")
        ax.set_ylabel("top-100 accuracy (FactorizedTopK, 1682 candidates)")
        ax.set_title("twotower on MovieLens 100k (TFRS deep retrieval)")
        ax.grid(alpha=0.3)
        ax.legend(title="layers")
        fig.tight_layout()
        fig.savefig(args.png)
        print(f"plot written to {args.png}")


if __name__ == "__main__":
    main()
