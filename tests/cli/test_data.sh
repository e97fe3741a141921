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

# The columnar data file: converted with the spec's types or named columns, trained from
# without parsing, to the same metrics as the CSV; damage refused.
expect 0 "ids.ttc: 200 rows, 3 columns (user_id string, timestamp int64, item_id int64)" \
  "$tt" data convert ids.csv -o ids.ttc --spec "$spec"
expect 0 "cand.ttc: 15 rows, 2 columns (item_id int64, title string)" \
  "$tt" data convert "$data/candidates.csv" -o cand.ttc --column item_id:int64 --column title:string --block-rows 4
"$tt" train --spec "$spec" --interactions ids.ttc --candidates cand.ttc | grep '^final:' > columnar.txt
{ [ -s columnar.txt ] && cmp -s joined.txt columnar.txt; } ||
  fail "columnar and CSV train differently: $(cat columnar.txt) vs $(cat joined.txt)"
expect 1 "name the columns to convert" "$tt" data convert ids.csv -o x.ttc
expect 1 "--column user_id: expected NAME:TYPE" "$tt" data convert ids.csv -o x.ttc --column user_id
expect 1 "column 'nope' not found in the header" "$tt" data convert ids.csv -o x.ttc --column nope:int64
expect 1 "ids.ttc: column 'item_id' is stored as int64, expected string" \
  "$tt" data convert ids.ttc -o x.ttc --column item_id:string
cp ids.ttc bad.ttc
printf 'X' | dd of=bad.ttc bs=1 seek=70 conv=notrunc 2> /dev/null
expect 1 "bad.ttc: column 'user_id', rows 0..: the block checksum does not match" \
  "$tt" train --spec "$spec" --interactions bad.ttc --candidates cand.ttc

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cli data: all passed"
