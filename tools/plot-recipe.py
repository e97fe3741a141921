#!/usr/bin/env python3
"""Tables and the plot of the "Beyond the tutorial" study (tools/recipe-study.sh): for every
history CSV in a directory, the epoch chosen on the validation rows (the best validation
top-100, as early stopping chose it) and the test accuracy of the final model: after a refit
(training.refit_after_validation, the CSV's `phase` column) the refit's last epoch, else the
kept epoch of the one run. Then the mean and spread of every variant over its seeds (NAME-seedN),
the most-popular baseline, and a PNG of top-10 and top-100 against epoch, validation (the
selection run) and test (the refit). With --validation-only (the search of tools/recipe-study.sh
--search): per variant, the mean and spread over its seeds of the validation top-10 and top-100
at the epoch kept, best first, and no test figure at all, so the test rows cannot choose
anything; --criteria adds early stopping replayed on other validation criteria."""
import argparse
import csv
import glob
import os
import re
import statistics

KS = [1, 5, 10, 50, 100]


class Run:
    """One history: `selection` the rows with validation metrics (the run that chose the epoch),
    `test` the rows with test metrics of the final model's run, `final` the row of the model
    evaluated on the test rows."""

    def __init__(self, path):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        self.refit = bool(rows) and "phase" in rows[0]
        self.selection = [r for r in rows if r.get("val_top_100", "") != ""]
        self.test = [r for r in rows if r.get("top_100", "") != ""]
        self.kept = kept(self.selection)
        self.final = self.test[-1] if self.refit else self.kept


def kept(rows, criterion=lambda r: float(r["val_top_100"]), patience=None):
    """The evaluated epoch with the best validation criterion (the first of equals): the epoch
    early stopping keeps; with `patience`, replayed: the run stops `patience` evaluations after
    its best."""
    best, since = None, 0
    for r in rows:
        if best is None or criterion(r) > criterion(best):
            best, since = r, 0
        else:
            since += 1
            if patience is not None and since >= patience:
                break
    return best


def mean_sd(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def by_variant(runs):
    variants = {}
    for name, run in runs.items():
        variants.setdefault(re.sub(r"-seed\d+$", "", name), []).append(run)
    return variants


def validation_only(runs, criteria):
    """Per variant (the run name without its -seedN), the validation figures at the kept epochs,
    ranked by mean validation top-10 + top-100 (the issue's two targets, equally weighted)."""
    table = []
    rows_of = {variant: [r.kept for r in rs] for variant, rs in by_variant(runs).items()}
    if criteria:
        # Early stopping replayed with patience 3 on other criteria, from runs that went on
        # long enough past their best (patience 10).
        for variant, rs in list(by_variant(runs).items()):
            if not variant.startswith("patience-10"):
                continue
            rows_of["replay: top-100, patience 3"] = [kept(r.selection, patience=3) for r in rs]
            rows_of["replay: top-10 + top-100, patience 3"] = [
                kept(r.selection, lambda x: float(x["val_top_10"]) + float(x["val_top_100"]), 3) for r in rs]
    for variant, kept_rows in rows_of.items():
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


def test_tables(runs):
    head = "| run | epoch chosen | " + " | ".join(f"top-{k}" for k in KS) + " |"
    print(head)
    print("|---|---|" + "---|" * len(KS))
    reference = runs.get("recipe-seed1") or next(iter(runs.values()))
    popular = [float(reference.final[f"popular_top_{k}"]) for k in KS]
    print("| most popular (training counts) | - | " + " | ".join(f"{v:.4f}" for v in popular) + " |")
    for name, run in runs.items():
        print(f"| {name} | {run.kept['epoch']} | " +
              " | ".join(f"{float(run.final[f'top_{k}']):.4f}" for k in KS) + " |")
    print()
    print("| variant, mean ± sd over seeds | epochs chosen | " + " | ".join(f"top-{k}" for k in KS) + " |")
    print("|---|---|" + "---|" * len(KS))
    for variant, rs in by_variant(runs).items():
        cells = []
        for k in KS:
            m, sd = mean_sd([float(r.final[f"top_{k}"]) for r in rs])
            cells.append(f"{m:.4f} ± {sd:.4f}")
        print(f"| {variant} ({len(rs)}) | " + ", ".join(r.kept["epoch"] for r in rs) + " | " +
              " | ".join(cells) + " |")


def plot(runs, png):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    reference = runs.get("recipe-seed1") or next(iter(runs.values()))
    for ax, k in zip(axes, (10, 100)):
        for name, run in runs.items():
            if not name.startswith("recipe-seed"):
                continue
            line, = ax.plot([int(r["epoch"]) for r in run.test], [float(r[f"top_{k}"]) for r in run.test],
                            label=f"{name} test" + (" (refit)" if run.refit else ""))
            ax.plot([int(r["epoch"]) for r in run.selection], [float(r[f"val_top_{k}"]) for r in run.selection],
                    "--", color=line.get_color(), label=f"{name} validation")
        ax.axhline(float(reference.final[f"popular_top_{k}"]), color="black", linestyle=":",
                   label="most popular (test)")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"top-{k} accuracy")
        ax.set_title(f"top-{k}: recommended recipe, MovieLens 100k")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    print(f"wrote {png}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--png")
    ap.add_argument("--validation-only", action="store_true")
    ap.add_argument("--criteria", action="store_true",
                    help="with --validation-only: early stopping replayed on the patience-10 runs")
    args = ap.parse_args()
    runs = {os.path.basename(p)[:-4]: Run(p) for p in sorted(glob.glob(os.path.join(args.dir, "*.csv")))}
    if args.validation_only:
        validation_only(runs, args.criteria)
        return
    test_tables(runs)
    if args.png:
        plot(runs, args.png)


if __name__ == "__main__":
    main()
