#!/usr/bin/env bash
# The "Beyond the tutorial" study of docs/results.md: the recommended recipe
# (samples/movielens/recommended.json) with 3 seeds (initial weights and shuffles), and the
# ablation (each option of the recipe taken away, 3 seeds), each history written to --out; then
# the table and the PNG (tools/plot-recipe.py). The protocol is the recipe's
# training.refit_after_validation: the epoch is chosen on the validation rows by early stopping,
# then the model is trained again from the start on all 80,000 training rows for that many
# epochs, and only that model is evaluated on the test rows.
#   tools/recipe-study.sh [--out docs/results/recipe] [--epochs N] [--threads N] [--only PREFIX]
# (--only runs the variants whose name starts with PREFIX, e.g. "recipe-seed" or "ablation-no-")
#   tools/recipe-study.sh --search [--out docs/results/recipe-search-4] [--only PREFIX]
# (the levers tried on the recipe: every variant with seeds 1, 2 and 3, without the refit,
# ranked by the mean validation top-10 and top-100 at the epoch kept; the test rows are not
# printed. Round 4 is the watch history; round 3's grid is this script at commit 45b75b0, the
# earlier rounds' at commit ac37535, on the recipe of then.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/docs/results/recipe"
epochs=""  # empty: the spec's (60; early stopping ends the runs sooner)
threads=0
only=""
search=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    --search) search=1; out="$root/docs/results/recipe-search-4"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cli="${TWOTOWER_CLI:-$root/build/release/tools/twotower}"
mkdir -p "$out"
specs="$(mktemp -d)"
trap 'rm -rf "$specs"' EXIT

# variant NAME SEED PYTHON-EXPRESSION-ON-s: writes $specs/NAME.json from the recommended spec.
variant() {
  python3 - "$root/samples/movielens/recommended.json" "$specs/$1.json" "$2" "$3" "$search" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["training"]["seed"] = int(sys.argv[3])
exec(sys.argv[4])
if sys.argv[5] == "1":  # the search chooses on the validation rows: the refit would be wasted
  s["training"].pop("refit_after_validation", None)
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
}

# grid NAME PYTHON-EXPRESSION-ON-s: the variant with seeds 1, 2 and 3 (NAME-seedN).
grid() {
  for seed in 1 2 3; do variant "$1-seed$seed" "$seed" "$2"; done
}

if [ "$search" = 1 ]; then
  # Round 4 (issue 16): the user's watch history as a query feature (Covington et al. 2016):
  # data.history builds, after the split, each row's titles the user rated strictly earlier,
  # from the rows the run trains on only (the 70,000 here: never a validation or test row),
  # the most recent N of them, mean-pooled by a multi_value_lookup (docs/model-spec.md).
  grid "recipe" "pass"
  for n in 5 10 20 50 0; do
    grid "history-$n" "
s['query_tower']['features'].append({'name': 'watch_history', 'column': 'watch_history',
                                     'kind': 'multi_value_lookup', 'embedding_dim': 32})
s['data']['history'] = {'column': 'watch_history', 'user_column': 'user_id', 'time_column': 'timestamp'}
if $n: s['data']['history']['max_items'] = $n"
  done
fi

[ "$search" = 1 ] || grid "recipe" "pass"
# Ablation (3 seeds): each option of the recipe taken away, with the same validation rows, early
# stopping and refit (so every variant, too, gets the epoch its validation rows choose).
if [ "$search" = 0 ]; then
grid "ablation-no-history" '
s["query_tower"]["features"] = [f for f in s["query_tower"]["features"] if f["column"] != "watch_history"]
s["data"].pop("history")'
grid "ablation-no-logq" 's["task"]["sampling_probability"] = "none"'
grid "ablation-streaming" 's["task"]["sampling_probability"] = "streaming"'
grid "ablation-no-refit" 's["training"].pop("refit_after_validation")'
grid "ablation-no-weight-decay" 's["training"]["optimizer"].pop("weight_decay", None)'
grid "ablation-no-user-features" '
s["query_tower"]["features"] = [f for f in s["query_tower"]["features"] if not f["column"].startswith("user_") or f["column"] == "user_id"]'
grid "ablation-no-movie-features" '
s["candidate_tower"]["features"] = [f for f in s["candidate_tower"]["features"] if not f["column"].startswith("movie_") or f["column"] == "movie_title"]'
grid "ablation-towers-64-32" 'for t in ("query_tower", "candidate_tower"): s[t]["layers"] = [64, 32]'
grid "ablation-tutorial-towers" '
for t in ("query_tower", "candidate_tower"): s[t]["layers"] = [32]
s["training"]["optimizer"]["learning_rate"] = 0.1'
fi

for spec in "$specs"/*.json; do
  name="$(basename "$spec" .json)"
  case "$name" in $only*) ;; *) continue ;; esac
  echo "== $name"
  run=(chrt --idle 0 nice -n 19 "$cli" train --spec "$spec" ${epochs:+--epochs "$epochs"} --threads "$threads"
       --quiet --history "$out/$name.csv")
  # The search prints nothing of a run: its summary names test figures, which choose nothing.
  if [ "$search" = 1 ]; then "${run[@]}" > /dev/null; else "${run[@]}"; fi
done
if [ "$search" = 1 ]; then
  python3 "$root/tools/plot-recipe.py" --validation-only --criteria "$out" | tee "$out/summary.md"
else
  python3 "$root/tools/plot-recipe.py" --png "$out/../recipe-top10-top100.png" "$out"
fi
