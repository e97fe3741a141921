#!/bin/sh
# `twotower train --refit-after-validation` (training.refit_after_validation, issue 16): early
# stopping chooses the epoch on the validation rows, then the model is trained again from the
# start on the training and validation rows for that many epochs: byte for byte the model of the
# same spec without validation rows trained for that many epochs. Needs early stopping.
# Usage: test_refit.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
data=$2/tests/data/model-v1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# spec.json with validation rows and early stopping (no argument), or without them, for N epochs.
make_spec() {
  python3 - "$data/spec.json" "$@" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
t = s["training"]
t["eval_every"] = 1
if len(sys.argv) > 2:
    t["epochs"] = int(sys.argv[2])
else:
    t["epochs"], t["patience"], t["early_stopping_k"] = 30, 2, 5
    s["data"]["validation_rows"] = 40
print(json.dumps(s))
PY
}
train() { "$tt" train --interactions "$data/interactions.csv" --candidates "$data/candidates.csv" --threads 2 "$@"; }
weights() { "$tt" convert "$1" --export "$1.export" > /dev/null && cat "$1.export/weights.safetensors"; }

make_spec > val.json
train --spec val.json --refit-after-validation --save refit.tt --history refit.csv > out.txt
epoch=$(sed -n 's/^chose epoch \([0-9]*\) .*refit from the start.*/\1/p' out.txt)
[ -n "$epoch" ] || { echo "FAIL: no chosen epoch in: $(cat out.txt)" >&2; exit 1; }
grep -q "^refit: $epoch epochs .* on the 160 training + validation rows" out.txt ||
  { echo "FAIL: the refit is not announced: $(cat out.txt)" >&2; exit 1; }
head -1 refit.csv | grep -q ',phase$' || { echo "FAIL: no phase column in the history" >&2; exit 1; }
[ "$(grep -c ',refit$' refit.csv)" = "$epoch" ] || { echo "FAIL: the history has no $epoch refit rows" >&2; exit 1; }

make_spec "$epoch" > plain.json
train --spec plain.json --save plain.tt --quiet > /dev/null
weights refit.tt > refit.w
weights plain.tt > plain.w
cmp refit.w plain.w || { echo "FAIL: the refit is not the model of $epoch epochs on all training rows" >&2; exit 1; }
# The spec key does what the flag does.
python3 -c 'import json,sys; s=json.load(open("val.json")); s["training"]["refit_after_validation"]=True; print(json.dumps(s))' > key.json
train --spec key.json --save key.tt --quiet > /dev/null
weights key.tt > key.w
cmp refit.w key.w || { echo "FAIL: training.refit_after_validation differs from --refit-after-validation" >&2; exit 1; }

if train --spec plain.json --refit-after-validation > out.txt 2> err.txt; then
  echo "FAIL: a refit without early stopping succeeded" >&2
  exit 1
fi
grep -q "needs the epoch chosen by early stopping" err.txt || { echo "FAIL: unexpected error: $(cat err.txt)" >&2; exit 1; }
echo "test_refit.sh: ok"
