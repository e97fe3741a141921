#!/usr/bin/env python3
"""Tables and the plot of the "Beyond the tutorial" study (tools/recipe-study.sh): for every
history CSV in a directory, the test accuracy at the epoch kept (the best validation top-100,
as early stopping chose it), the mean and spread over the recipe-seed* runs, the most-popular
baseline, and a PNG of top-10 and top-100 against epoch, validation and test. With
--validation-only (the search of tools/recipe-study.sh --search): per variant, the mean and
spread over its seeds of the validation top-10 and top-100 at the epoch kept, best first, and
no test figure at all, so the test rows cannot choose anything."""
import argparse
import csv
import glob
import os
import re
import statistics

KS = [1, 5, 10, 50, 100]


def read(path):
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r.get("top_100", "") != ""]


def kept(rows):
    """The evaluated epoch with the best validation top-100 (the first of equals): the epoch
    early stopping keeps."""
    best = None
    for r in rows:
        if best is None or float(r["val_top_100"]) > float(best["val_top_100"]):
            best = r
    return best


def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def validation_only(runs):
    """Per variant (the run name without its -seedN), the validation figures at the kept epochs,
    ranked by mean validation top-10 + top-100 (the issue's two targets, equally weighted)."""
    variants = {}
    for name, rows in runs.items():
        variants.setdefault(re.sub(r"-seed\d+$", "", name), []).append(kept(rows))
    table = []
    for variant, kept_rows in variants.items():
        v10 = mean_sd([float(r["val_top_10"]) for r in kept_rows])
        v100 = mean_sd([float(r["val_top_100"]) for r in kept_rows])
        table.append((v10[0] + v100[0], variant, kept_rows, v10, v100))
    table.sort(key=lambda t: -t[0])
    reference = next((t for t in table if t[1] == "recipe"), None)
    print("| variant | seeds | epochs kept | validation top-10 | validation top-100 | beats the recipe on both |")
    print("|---|---|---|---|---|---|")
    for _, variant, kept_rows, v10, v100 in table:
        beats = "-" if reference is None or variant == "recipe" else \
            ("yes" if v10[0] > reference[3][0] and v100[0] > reference[4][0] else "no")
        print(f"| {variant} | {len(kept_rows)} | " + ", ".join(r["epoch"] for r in kept_rows) +
              f" | {v10[0]:.4f} ± {v10[1]:.4f} | {v100[0]:.4f} ± {v100[1]:.4f} | {beats} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--png")
    ap.add_argument("--validation-only", action="store_true")
    args = ap.parse_args()
    runs = {os.path.basename(p)[:-4]: read(p) for p in sorted(glob.glob(os.path.join(args.dir, "*.csv")))}
    if args.validation_only:
        validation_only(runs)
        return
    head = "| run | epoch kept | " + " | ".join(f"top-{k}" for k in KS) + " |"
    print(head)
    print("|---|---|" + "---|" * len(KS))
    any_rows = next(iter(runs.values()))
    popular = [float(any_rows[0][f"popular_top_{k}"]) for k in KS]
    print("| most popular (training counts) | - | " + " | ".join(f"{v:.4f}" for v in popular) + " |")
    for name, rows in runs.items():
        r = kept(rows)
        print(f"| {name} | {r['epoch']} | " + " | ".join(f"{float(r[f'top_{k}']):.4f}" for k in KS) + " |")
    seeds = [kept(rows) for name, rows in runs.items() if name.startswith("recipe-seed")]
    if seeds:
        cells = []
        for k in KS:
            v = [float(r[f"top_{k}"]) for r in seeds]
            spread = statistics.stdev(v) if len(v) > 1 else 0.0
            cells.append(f"{statistics.mean(v):.4f} ± {spread:.4f}")
        print(f"| recipe, mean ± sd of {len(seeds)} seeds | " +
              ", ".join(r["epoch"] for r in seeds) + " | " + " | ".join(cells) + " |")
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, k in zip(axes, (10, 100)):
            for name, rows in runs.items():
                if not name.startswith("recipe-seed"):
                    continue
                e = [int(r["epoch"]) for r in rows]
                line, = ax.plot(e, [float(r[f"top_{k}"]) for r in rows], label=f"{name} test")
                ax.plot(e, [float(r[f"val_top_{k}"]) for r in rows], "--", color=line.get_color(),
                        label=f"{name} validation")
            ax.axhline(float(any_rows[0][f"popular_top_{k}"]), color="black", linestyle=":",
                       label="most popular (test)")
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"top-{k} accuracy")
            ax.set_title(f"top-{k}: recommended recipe, MovieLens 100k")
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(args.png, dpi=100)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
