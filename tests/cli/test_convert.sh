#!/bin/sh
# `twotower convert` from the command line on tests/data/model-v1.tt and its synthetic tables:
# upgrade, quantize (with the before/after report), strip, export then import (same answers),
# and bad input (an error, no output file). Usage: test_convert.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
src=$2
data=$src/tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
q() { "$tt" query "$1" --set user_id=u7 --set timestamp=880050000 -k 5; }

"$tt" convert "$data/model-v1.tt" -o up.tt --upgrade > out.txt
grep -q "format version 1" out.txt || fail "upgrade report"
[ "$(q up.tt)" = "$(q "$data/model-v1.tt")" ] || fail "upgrade changed the answers"

"$tt" convert "$data/model-v1.tt" -o q8.tt --quantize int8 --strip \
  --interactions "$data/model-v1/interactions.csv" --candidates "$data/model-v1/candidates.csv" > out.txt
grep -q "index embeddings: f32 -> int8" out.txt || fail "quantize report"
grep -q "top-100 list overlap" out.txt || fail "no overlap in the report"
grep -q "training metadata dropped" out.txt || fail "strip report"
[ "$(wc -c < q8.tt)" -lt "$(wc -c < "$data/model-v1.tt")" ] || fail "int8 file not smaller"
q q8.tt > /dev/null
"$tt" inspect q8.tt | grep -q "stored precision: index int8, weights int8" || fail "inspect does not show int8"
for p in f32 bf16 int8; do
  [ "$("$tt" query q8.tt --set user_id=u7 --set timestamp=880050000 -k 5 --search-precision $p | cut -c1-4,17-)" = \
    "$(q q8.tt | cut -c1-4,17-)" ] || fail "--search-precision $p changed the top 5"
done
"$tt" query q8.tt --set user_id=u7 --set timestamp=880050000 --search-precision fp16 2>/dev/null && fail "fp16 scan accepted"
"$tt" inspect up.tt | grep -q "stored precision: index f32, weights f32" || fail "inspect does not show f32"

"$tt" convert "$data/model-v1.tt" --export exp > out.txt
for f in candidate_embeddings.npy candidate_embeddings.fvecs candidate_keys.txt weights.safetensors \
         spec.json preprocessing.json vocab/query.user_id.txt vocab/candidate.title_text.txt; do
  [ -f "exp/$f" ] || fail "export lacks $f"
done
"$tt" convert --import exp -o imported.tt > out.txt
[ "$(q imported.tt)" = "$(q "$data/model-v1.tt")" ] || fail "export + import changed the answers"

# Sharding: three shard files hold the catalogue between them, and their answers (score, key)
# are the whole model's; a shard of a shard, a bad --shard and --evaluate are refused.
for i in 0 1 2; do "$tt" convert "$data/model-v1.tt" -o s$i.tt --shard $i/3 > out.txt; done
grep -q "shard 2 of 3: catalogue rows 10..14 of 15" out.txt || fail "shard report: $(cat out.txt)"
"$tt" inspect s1.tt | grep -q "shard 1 of 3: catalogue rows from 5 of 15" || fail "inspect does not show the shard"
pairs() { "$tt" query "$1" --set user_id=u7 --set timestamp=880050000 -k "$2" | tail -n +2 | awk '{print $2, $3}'; }
[ "$(pairs "$data/model-v1.tt" 15 | sort)" = "$( (pairs s0.tt 5; pairs s1.tt 5; pairs s2.tt 5) | sort)" ] ||
  fail "the shards' answers are not the whole model's"
if "$tt" convert s1.tt -o bad.tt --shard 0/2 2> err.txt; then fail "a shard was sharded again"; fi
grep -q "already shard 1 of 3" err.txt || fail "message: $(cat err.txt)"
if "$tt" convert "$data/model-v1.tt" -o bad.tt --shard 1x3 2> err.txt; then fail "--shard 1x3 accepted"; fi
grep -q "is not INDEX/COUNT" err.txt || fail "message: $(cat err.txt)"
if "$tt" convert "$data/model-v1.tt" -o bad.tt --shard 0/2 --evaluate 2> err.txt; then fail "--evaluate accepted"; fi
grep -q "evaluate the whole model" err.txt || fail "message: $(cat err.txt)"
[ ! -e bad.tt ] || fail "an output file was left behind"

# Bad input: an error naming the file, and no output file.
printf 'xyz' > exp/weights.safetensors
if "$tt" convert --import exp -o bad.tt 2> err.txt; then fail "a truncated safetensors file was accepted"; fi
grep -q "exp/weights.safetensors: truncated safetensors file: 3 bytes" err.txt || fail "message: $(cat err.txt)"
[ ! -e bad.tt ] || fail "an output file was left behind"
if "$tt" convert "$data/model-v1.tt" -o bad.tt --quantize int4 2> err.txt; then fail "int4 accepted"; fi
grep -q "unknown precision 'int4'" err.txt || fail "message: $(cat err.txt)"
[ ! -e bad.tt ] || fail "an output file was left behind"
echo "test_convert.sh: all checks passed"
