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

# run CMD...: CMD with a time limit (a hang fails), output in out.txt and err.txt. "train ..."
# stands for a training run on the fixture's tables.
run() {
  if [ "$1" = train ]; then
    shift
    set -- "$tt" train --spec "$spec" --interactions "$inter" --candidates "$cand" "$@"
  fi
  timeout 120 "$@" > out.txt 2> err.txt < /dev/null
}
# refused NEEDLE CMD...: CMD fails with a status below 124 (an error, not a timeout, a crash or a
# signal) and its stderr contains NEEDLE.
refused() {
  needle=$1
  shift
  status=0
  run "$@" || status=$?
  if [ "$status" -eq 0 ] || [ "$status" -ge 124 ] || ! grep -qF -- "$needle" err.txt; then
    fail "$* exited $status; expected an error mentioning '$needle'; stderr: $(head -c 600 err.txt)"
  fi
}
# accepted CMD...: CMD succeeds.
accepted() {
  run "$@" || fail "$* exited $?: $(head -c 600 err.txt)"
}

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

# --- Output paths are checked before training; the model is saved before the history.
refused "--save 'missing/m.tt': directory 'missing' does not exist" train --save missing/m.tt
grep -q "training" out.txt && fail "--save into a missing directory was found out only after training"
refused "--history 'missing/h.csv': directory 'missing' does not exist" train --history missing/h.csv
grep -q "training" out.txt && fail "--history into a missing directory was found out only after training"
refused "--history 'dir' is a directory" train --save m.tt --history dir
[ ! -e m.tt ] || fail "a refused run saved a model"
accepted train --save m.tt --history h.csv
grep -A1 "model saved" out.txt | grep -q "history written" || fail "the history was written before the model: $(cat out.txt)"

# --- Files: saving keeps the permission bits, follows symbolic links, and cleans up after
# saves that were killed.
chmod 600 m.tt
accepted train --save m.tt
[ "$(stat -c %a m.tt)" = 600 ] || fail "saving over a 0600 model made it $(stat -c %a m.tt)"
ln -s target.tt link.tt
accepted train --save link.tt
[ -L link.tt ] || fail "saving through a symbolic link replaced the link"
[ -f target.tt ] || fail "saving through a symbolic link did not write its target"
chmod 640 target.tt
accepted "$tt" convert m.tt -o link.tt --upgrade
[ -L link.tt ] && [ "$(stat -c %a target.tt)" = 640 ] || fail "convert -o through a link: link or mode lost"
host=$(hostname | cut -d. -f1 | tr -cd 'A-Za-z0-9_' | cut -c1-32)
sh -c 'exit 0' &
dead=$!
wait "$dead"
: > "m.tt.tmp-$dead-$host-3"
: > "m.tt.tmp-$$-$host-3"
accepted train --save m.tt
[ ! -e "m.tt.tmp-$dead-$host-3" ] || fail "the temporary file of a dead save was left behind"
[ -e "m.tt.tmp-$$-$host-3" ] || fail "the temporary file of a running process was removed"

# --- Numbers that wrap: every numeric option is a whole number within its range, else refused
# naming the option (CLI11 alone read --epochs -1 as 2^64-1 and clamped --timestamp).
for v in 100000 20000 257 -1 -3 abc 1.5 ""; do
  refused "--threads" train --threads "$v"
done
refused "--threads: 100000 is outside 0..256" train --threads 100000
refused "--threads: -1 is outside 0..256" train --threads -1
refused "--threads: -1 is outside 0..256" "$tt" eval "$model" --interactions "$inter" --candidates "$cand" --threads -1
refused "--threads: 300 is outside 0..256" "$tt" convert "$model" --export exp2 --threads 300
refused "--epochs: -1 is outside 1..1000000" train --epochs -1
refused "--epochs: 0 is outside 1..1000000" train --epochs 0
refused "--epochs: 99999999999999999999 is outside 1..1000000" train --epochs 99999999999999999999
refused "--epochs: '2e3' is not a whole number" train --epochs 2e3
refused "--seed: -1 is outside 0..18446744073709551615" train --seed -1
refused "--seed: 18446744073709551616 is outside" train --seed 18446744073709551616
refused "--compression: -1 is outside 0..19" train --compression -1
refused "--compression: 20 is outside 0..19" "$tt" convert "$model" -o c.tt --compression 20
refused "--timestamp: 99999999999999999999 is outside -9223372036854775808..9223372036854775807" "$tt" query "$model" --set user_id=u7 --timestamp 99999999999999999999
refused "-k: -1 is outside 1..100000" "$tt" query "$model" --set user_id=u7 --timestamp 880050000 -k -1
refused "-k: 0 is outside 1..100000" "$tt" query "$model" --set user_id=u7 --timestamp 880050000 -k 0
refused "-k: 18446744073709551615 is outside 1..100000" "$tt" query "$model" --set user_id=u7 --timestamp 880050000 -k 18446744073709551615
refused "column 'timestamp': '99999999999999999999' is out of range" "$tt" query "$model" --set user_id=u7 \
  --set timestamp=99999999999999999999
refused "column 'timestamp':" "$tt" query "$model" --set user_id=u7 --set timestamp=12abc
refused "--recall: 1.5 is outside 0..1" "$tt" query "$model" --set user_id=u7 --timestamp 1 --recall 1.5
refused "--recall: 'nan' is not a number" "$tt" query "$model" --set user_id=u7 --timestamp 1 --recall nan
refused "--probe: -1 is outside" "$tt" query "$model" --set user_id=u7 --timestamp 1 --probe -1
refused "--rescore: -2 is outside" "$tt" query "$model" --set user_id=u7 --timestamp 1 --rescore -2
refused "--ann-partitions: -1 is outside" "$tt" convert "$model" -o a.tt --ann --ann-partitions -1
refused "--ann-seed: -1 is outside" "$tt" convert "$model" -o a.tt --ann --ann-seed -1
accepted "$tt" query "$model" --set user_id=u7 --timestamp -5 -k 3
accepted train --seed 18446744073709551615 --epochs 1 --threads 0

# --- Silent wrong results.
# Interactions whose item is absent from the catalogue (item 100: 7 of 200 rows) are refused
# above data.max_unknown_candidates (1%), with a warning and the count below it.
grep -v '^100,' "$cand" > partial.csv
refused "7 of 200 interactions (3.50%) have a 'item_id' absent from the candidate catalogue (the first: '100')" \
  "$tt" train --spec "$spec" --interactions "$inter" --candidates partial.csv
grep -q "^training" out.txt && fail "unknown candidate ids were found out only after training"
accepted "$tt" train --spec "$spec" --interactions "$inter" --candidates partial.csv --max-unknown-candidates 0.05
grep -q "warning: 7 of 200 interactions" err.txt || fail "no warning for unknown candidate ids: $(cat err.txt)"
refused "--max-unknown-candidates: 2 is outside 0..1" train --max-unknown-candidates 2
# eval on other data than the model's re-splits it: rows it trained on count as held out.
accepted "$tt" eval m.tt --interactions "$inter" --candidates "$cand"
grep -q "WARNING" err.txt && fail "eval on the training data warned: $(cat err.txt)"
head -181 "$inter" > fewer.csv
accepted "$tt" eval m.tt --interactions fewer.csv --candidates "$cand"
grep -q "WARNING: these interactions differ from the data the model was trained on" err.txt &&
  grep -q "the held-out split is NOT the one held out at training" err.txt ||
  fail "eval on other interactions did not warn: $(cat err.txt)"
accepted "$tt" eval m.tt --interactions "$inter" --candidates partial.csv
grep -q "WARNING: the candidates differ" err.txt || fail "eval on another catalogue did not warn: $(cat err.txt)"
# A duplicated key in the spec: JSON parsers keep one value, silently.
sed 's/"epochs": 1,/"epochs": 1, "epochs": 300,/' "$spec" > dup.json
refused "dup.json: training: duplicated key 'epochs'" "$tt" train --spec dup.json --interactions "$inter" --candidates "$cand"
# A query column no feature reads (a misspelling) was ignored.
refused "the query tower reads no column 'usr_id' (given by --set); it reads 'user_id', 'timestamp'" \
  "$tt" query "$model" --set user_id=u7 --set timestamp=1 --set usr_id=u8
# CR-only line breaks read as one long header line.
tr '\n' '\r' < "$inter" > cr.csv
refused "cr.csv:1: field 4: carriage return (CR) not followed by a line feed: the file seems to use CR-only line breaks" \
  "$tt" train --spec "$spec" --interactions cr.csv --candidates "$cand"

# --- Errors that help.
# A catalogue with a header and no rows failed after an epoch inside sgemm (an internal error).
head -1 "$cand" > empty.csv
refused "the candidate catalogue has no rows" "$tt" train --spec "$spec" --interactions "$inter" --candidates empty.csv
grep -q "internal" err.txt && fail "an empty catalogue is reported as an internal error"
grep -q "^training" out.txt && fail "an empty catalogue was found out only after training started"
head -1 "$inter" > empty-interactions.csv
# eval against an empty catalogue printed top-k accuracy 1.0.
refused "the candidate catalogue has no rows: nothing to rank" "$tt" eval m.tt --interactions "$inter" --candidates empty.csv
refused "the interactions have no rows" "$tt" train --spec "$spec" --interactions empty-interactions.csv --candidates "$cand"
# Every missing column at once (the query's: a title-less file would take the title from the
# catalogue).
cut -d, -f3,4 "$inter" > two-columns.csv
refused "columns 'timestamp', 'user_id' not found in the header ('item_id', 'title')" \
  "$tt" train --spec "$spec" --interactions two-columns.csv --candidates "$cand"
# Unknown or missing command: list the commands.
refused "commands: data train query inspect eval convert" "$tt" frobnicate
grep -q "unknown command 'frobnicate'" err.txt || fail "twotower frobnicate: $(cat err.txt)"
refused "commands: data train query inspect eval convert" "$tt"
grep -q "a command is required" err.txt || fail "twotower alone: $(cat err.txt)"
# Huge layers: the bytes and the tensor before allocating, not std::bad_alloc.
if [ "$(awk '/MemTotal/ {print $2}' /proc/meminfo)" -lt 100000000 ]; then
  sed 's/"layers": \[8, 4\]/"layers": [65536, 65536, 65536, 4]/' "$spec" > huge.json
  refused "the largest tensor is 'query/dense_2/kernel' [65536 x 65536] = 17179869184 bytes (16.0 GiB)" \
    "$tt" train --spec huge.json --interactions "$inter" --candidates "$cand"
fi
# --exclude-rated read MovieLens whatever the model was trained on.
refused "--exclude-rated: the model was trained on $inter + $cand, not MovieLens: pass the interactions file" \
  "$tt" query m.tt --user u7 --timestamp 880050000 --exclude-rated
accepted "$tt" query m.tt --user u7 --timestamp 880050000 --exclude-rated --interactions "$inter" -k 15
rated=$(grep '^u7,' "$inter" | cut -d, -f3 | sort -u | wc -l)
grep -q "excluding $rated candidates user u7 has rated" out.txt || fail "--exclude-rated --interactions: $(cat out.txt)"
[ "$(grep -cE '^ +[0-9]+ +-?[0-9.]+ +[0-9]+$' out.txt)" -eq $((15 - rated)) ] ||
  fail "--exclude-rated returned rated items: $(cat out.txt)"

if [ "$failures" -ne 0 ]; then
  echo "test_bad_input.sh: $failures checks failed" >&2
  exit 1
fi
echo "test_bad_input.sh: all checks passed"
