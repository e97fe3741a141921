#!/bin/sh
# Hostile input on the command line (issue 13): every case ends in a one-line error naming the
# option, file or column at fault and a non-zero exit, never a crash, a hang, a runaway or a
# silently wrong result. Runs on the synthetic tables of tests/data/model-v1.
# Usage: test_bad_input.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
src=$2
data=$src/tests/data
inter=$data/model-v1/interactions.csv
cand=$data/model-v1/candidates.csv
spec=$data/model-v1/spec.json
model=$data/model-v1.tt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# refused NEEDLE CMD...: CMD exits with status 1 (an error, not a crash or a signal) within 60
# seconds and its stderr contains NEEDLE.
refused() {
  needle=$1
  shift
  status=0
  timeout 60 "$@" > out.txt 2> err.txt < /dev/null || status=$?
  if [ "$status" -ne 1 ] && [ "$status" -ne 2 ] || ! grep -qF -- "$needle" err.txt; then
    fail "$* exited $status; expected an error mentioning '$needle'; stderr: $(head -c 600 err.txt)"
  fi
}
# accepted CMD...: CMD succeeds within 120 seconds.
accepted() {
  timeout 120 "$@" > out.txt 2> err.txt < /dev/null || fail "$* exited $?: $(head -c 600 err.txt)"
}
train() { "$tt" train --spec "$spec" --interactions "$inter" --candidates "$cand" --threads 1 --quiet "$@"; }

# --- Unbounded reads: devices, FIFOs and directories are refused wherever a path is accepted.
mkfifo fifo
mkdir dir
for bad in /dev/zero /dev/urandom fifo dir; do
  refused "not a regular file" "$tt" train --spec "$bad" --interactions "$inter" --candidates "$cand"
  refused "not a regular file" "$tt" train --spec "$spec" --interactions "$bad" --candidates "$cand"
  refused "not a regular file" "$tt" train --spec "$spec" --interactions "$inter" --candidates "$bad"
  refused "not a regular file" "$tt" query "$bad" --set user_id=u1 --set timestamp=880050000
  refused "not a regular file" "$tt" inspect "$bad"
  refused "not a regular file" "$tt" eval "$bad" --interactions "$inter" --candidates "$cand"
  refused "not a regular file" "$tt" convert "$bad" -o out.tt --upgrade
  refused "not a regular file" "$tt" data --spec "$bad" --interactions "$inter" --candidates "$cand"
done
refused "spec file 'dir' is a directory" "$tt" train --spec dir --interactions "$inter" --candidates "$cand"
refused "'/dev/zero' is a character device" "$tt" train --spec "$spec" --interactions /dev/zero --candidates "$cand"
refused "'fifo' is a FIFO" "$tt" inspect fifo
refused "data directory '/dev/zero' is not a directory" "$tt" train --spec "$spec" --data /dev/zero
mkdir ml
mkfifo ml/u.item
: > ml/u.data
refused "u.item' is a FIFO" "$tt" train --spec "$spec" --data ml
"$tt" convert "$model" --export exp > /dev/null
refused "'/dev/zero' is a character device" "$tt" convert --import exp --weights /dev/zero -o imported.tt
refused "is a FIFO" "$tt" convert --import exp --spec fifo -o imported.tt
refused "is a FIFO" "$tt" convert --import exp --preprocessing fifo -o imported.tt
[ ! -e imported.tt ] || fail "a refused import left imported.tt"

if [ "$failures" -ne 0 ]; then
  echo "test_bad_input.sh: $failures checks failed" >&2
  exit 1
fi
echo "test_bad_input.sh: all checks passed"
