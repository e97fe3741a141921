#!/usr/bin/env python3
"""Plots bench_scale's table (issue 17): epoch seconds and peak RSS against the row count.

Reads one or more files holding bench_scale's printed output and writes a PNG with two panels:
seconds per epoch (with the line of constant seconds per 10^6 rows through the smallest run,
so superlinear growth shows as points above it) and the child's peak RSS, in-memory and
streamed runs marked apart.

    bench/plot-scale.py --png docs/results/scale.png in-memory.txt streamed.txt
"""
import argparse
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# A table row: rows csv_MB csv_s csv_MB/s conv_s ttc_MB ttc_load epoch_s rows/s s/Mrow vs_ML eval_s RSS_MB
ROW = re.compile(r"^\s*\d{6,}(\s+[\d.]+){12}\s*$")


def read(path):
    text = open(path).read()
    streamed = "streamed:" in text
    out = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            cols = line.split()
            out.append((int(cols[0]), float(cols[7]), float(cols[12]), streamed))
    if not out:
        raise SystemExit(f"{path}: no bench_scale rows found")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--png", required=True)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    points = [p for f in args.files for p in read(f)]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for streamed, marker, label in ((False, "o", "columnar file in memory"), (True, "s", "streamed (bounded buffer)")):
        pts = sorted(p for p in points if p[3] == streamed)
        if not pts:
            continue
        rows = [p[0] for p in pts]
        a.plot(rows, [p[1] for p in pts], marker=marker, label=label)
        b.plot(rows, [p[2] for p in pts], marker=marker, label=label)
    smallest = min(points)
    xs = sorted({p[0] for p in points})
    a.plot(xs, [smallest[1] * x / smallest[0] for x in xs], "k--", lw=0.8, label="linear from the smallest run")
    for ax, title, unit in ((a, "one epoch of [64, 32]", "seconds"), (b, "peak RSS of the training process", "MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("interaction rows")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()
