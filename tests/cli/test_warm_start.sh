#!/bin/sh
# `twotower train --init-from` (warm start, issue 15): 3 epochs saved --with-optimizer, then 3
# more from the file, give the weights of 6 epochs in one run byte for byte (same threads);
# --reset starts over; wrong combinations are refused naming the options.
# Usage: test_warm_start.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
data=$2/tests/data/model-v1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
train() { "$tt" train --interactions "$data/interactions.csv" --candidates "$data/candidates.csv" --threads 2 \
  --quiet "$@" > /dev/null; }
weights() { "$tt" convert "$1" --export "$1.export" > /dev/null && cat "$1.export/weights.safetensors"; }

train --spec "$data/spec.json" --epochs 6 --save six.tt
train --spec "$data/spec.json" --epochs 3 --save three.tt --with-optimizer
train --init-from three.tt --epochs 3 --save resumed.tt
weights six.tt > six.w
weights resumed.tt > resumed.w
weights three.tt > three.w
cmp -s three.w six.w && { echo "FAIL: 3 epochs already equal 6" >&2; exit 1; }
cmp six.w resumed.w || { echo "FAIL: 3 + 3 epochs through --init-from differ from 6" >&2; exit 1; }
"$tt" inspect resumed.tt | grep -q ', 6 epochs,' || { echo "FAIL: the metadata does not count 6 epochs" >&2; exit 1; }

# --reset: the file's spec, fitted and initialised anew: the model of 3 epochs from scratch.
train --init-from six.tt --reset --epochs 3 --save reset.tt
weights reset.tt > reset.w
cmp three.w reset.w || { echo "FAIL: --reset did not start over" >&2; exit 1; }

refused() {
  needle=$1
  shift
  if "$tt" train --interactions "$data/interactions.csv" --candidates "$data/candidates.csv" "$@" \
    > out.txt 2> err.txt; then
    echo "FAIL: train $* succeeded" >&2
    exit 1
  fi
  grep -qF -- "$needle" err.txt || { echo "FAIL: train $*: expected '$needle' in: $(cat err.txt)" >&2; exit 1; }
}
refused "not both" --spec "$data/spec.json" --init-from three.tt
refused "not both"
refused "--reset goes with --init-from" --spec "$data/spec.json" --reset
refused "no-such.tt" --init-from no-such.tt
echo "test_warm_start.sh: ok"
