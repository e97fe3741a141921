#!/bin/sh
# Training data on the command line (issue 17): interactions joined to the catalogue (ids only
# in the interactions, unknown ids refused naming file and line or left out and counted,
# duplicate catalogue ids refused). Runs on the synthetic tables of tests/data/model-v1.
# Usage: test_data.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
src=$2
data=$src/tests/data/model-v1
spec=$data/spec.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# expect STATUS NEEDLE CMD...: CMD exits with STATUS (0 or non-zero) and stdout+stderr contain NEEDLE.
expect() {
  want=$1
  needle=$2
  shift 2
  status=0
  timeout 300 "$@" > out.txt 2>&1 < /dev/null || status=$?
  if [ "$want" = 0 ] && [ "$status" -ne 0 ]; then fail "$* exited $status: $(head -c 600 out.txt)"; fi
  if [ "$want" != 0 ] && { [ "$status" -eq 0 ] || [ "$status" -ge 124 ]; }; then
    fail "$* exited $status, expected an error: $(head -c 600 out.txt)"
  fi
  grep -qF -- "$needle" out.txt || fail "$*: output lacks '$needle': $(head -c 600 out.txt)"
}

# Interactions with the ids and the query's columns only (no title); the catalogue has titles.
cut -d, -f1-3 "$data/interactions.csv" > ids.csv
expect 0 "training fixture-v1 on" "$tt" train --spec "$spec" --interactions ids.csv --candidates "$data/candidates.csv"
# Interactions repeating the title train the same: the catalogue's title is read either way.
"$tt" train --spec "$spec" --interactions ids.csv --candidates "$data/candidates.csv" | grep '^final:' > joined.txt
"$tt" train --spec "$spec" --interactions "$data/interactions.csv" --candidates "$data/candidates.csv" |
  grep '^final:' > repeated.txt
{ [ -s joined.txt ] && cmp -s joined.txt repeated.txt; } ||
  fail "joined and repeated interactions train differently: $(cat joined.txt) vs $(cat repeated.txt)"

# An id the catalogue lacks: file and line, and the option that leaves such rows out.
cp ids.csv unknown.csv
printf 'u1,880000000,999\nu2,880000001,100\nu3,880000002,998\n' >> unknown.csv
line=$(( $(wc -l < ids.csv) + 1 ))
expect 1 "unknown.csv:$line: candidate id 999 (column 'item_id') is not in the catalogue" \
  "$tt" train --spec "$spec" --interactions unknown.csv --candidates "$data/candidates.csv"
expect 1 "2 interactions have unknown ids" \
  "$tt" train --spec "$spec" --interactions unknown.csv --candidates "$data/candidates.csv"
expect 0 "2 interactions left out (candidate id not in the catalogue)" \
  "$tt" train --spec "$spec" --interactions unknown.csv --candidates "$data/candidates.csv" --skip-unknown-candidates
expect 0 "(2 interactions left out: candidate id not in the catalogue)" \
  "$tt" data --spec "$spec" --interactions unknown.csv --candidates "$data/candidates.csv" --skip-unknown-candidates

# Duplicate catalogue ids: both lines named.
cp "$data/candidates.csv" dup.csv
sed -n 3p "$data/candidates.csv" >> dup.csv
last=$(wc -l < dup.csv)
expect 1 "dup.csv:$last: candidate id 101 (column 'item_id') appears again; it was first at dup.csv:3" \
  "$tt" train --spec "$spec" --interactions ids.csv --candidates dup.csv

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cli data: all passed"
