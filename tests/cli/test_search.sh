#!/bin/sh
# `twotower index build` and `twotower search` from the command line: vectors and keys from
# NumPy (.npy int64 keys, .npy and .fvecs queries) against a NumPy brute-force top-k; int8
# storage; the approximate index; a model file's index (tests/data/model-v1.tt) searched
# directly and rebuilt from its export; bad input refused with a message naming the culprit
# and no output file. Usage: test_search.sh TWOTOWER SOURCE_DIR
set -eu
tt=$1
src=$2
data=$src/tests/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 - <<'PY'
import numpy as np
rng = np.random.default_rng(5)
x = rng.standard_normal((300, 16)).astype("<f4")
keys = (10**12 + 3 * np.arange(300)).astype("<i8")
q = rng.standard_normal((4, 16)).astype("<f4")
np.save("x.npy", x)
np.save("keys.npy", keys)
np.save("q.npy", q)
with open("q.fvecs", "wb") as f:
    for row in q:
        np.array([16], "<i4").tofile(f)
        row.tofile(f)
s = q.astype(np.float64) @ x.astype(np.float64).T
with open("ref.tsv", "w") as f:
    for i in range(4):
        for r, j in enumerate(np.argsort(-s[i], kind="stable")[:5]):
            f.write(f"{i}\t{r + 1}\t{keys[j]}\n")
bad = q.copy()
bad[1, 3] = np.nan
np.save("nan.npy", bad)
np.save("q8.npy", q[:, :8].copy())
np.save("keys299.npy", keys[:299])
PY

"$tt" index build --vectors x.npy --keys keys.npy -o idx.tt > out.txt
grep -q "idx.tt: 300 vectors of dimension 16, stored as f32" out.txt || fail "build report: $(cat out.txt)"
"$tt" search --index idx.tt --queries q.npy -k 5 > res.tsv
[ "$(head -1 res.tsv)" = "$(printf 'query\trank\tkey\tscore')" ] || fail "header: $(head -1 res.tsv)"
[ "$(tail -n +2 res.tsv | cut -f1-3)" = "$(cat ref.tsv)" ] || fail "top-5 differ from NumPy's: $(cat res.tsv)"
"$tt" search --index idx.tt --queries q.fvecs -k 5 > res2.tsv
cmp -s res.tsv res2.tsv || fail ".fvecs queries answer differently"

# Stored as int8: the compact scan re-scored in float32; the best key is NumPy's.
"$tt" index build --vectors x.npy --keys keys.npy --precision int8 -o idx8.tt > out.txt
grep -q "stored as int8" out.txt || fail "int8 report: $(cat out.txt)"
[ "$(wc -c < idx8.tt)" -lt "$(wc -c < idx.tt)" ] || fail "the int8 index is not smaller"
[ "$("$tt" search --index idx8.tt --queries q.npy -k 1 | tail -n +2 | cut -f1-3)" = "$(awk '$2 == 1' ref.tsv)" ] ||
  fail "int8 top-1 differs"

# The approximate index: every partition probed is exact search; a recall target answers.
"$tt" index build --vectors x.npy --keys keys.npy --ann --ann-partitions 8 -o ann.tt > out.txt
grep -q "approximate index: 8 partitions" out.txt || fail "ann report: $(cat out.txt)"
"$tt" search --index ann.tt --queries q.npy -k 5 --probe 8 --rescore 300 > res3.tsv
cmp -s res.tsv res3.tsv || fail "probing every partition is not exact"
[ "$("$tt" search --index ann.tt --queries q.npy -k 5 --recall 0.9 | wc -l)" -eq 21 ] || fail "recall search"

# Without keys: row numbers.
"$tt" index build --vectors x.npy -o rows.tt > /dev/null
[ "$("$tt" search --index rows.tt --queries q.npy -k 1 | sed -n 2p | cut -f3)" = \
  "$(( ($(awk '$2 == 1 {print $3; exit}' ref.tsv) - 1000000000000) / 3 ))" ] || fail "row-number keys"

# A model file's index, directly and rebuilt from its export: the same answers.
"$tt" convert "$data/model-v1.tt" --export exp > /dev/null
"$tt" index build --vectors exp/candidate_embeddings.npy --keys exp/candidate_keys.txt -o m.tt > /dev/null
"$tt" search --index "$data/model-v1.tt" --queries exp/candidate_embeddings.fvecs -k 3 > a.tsv
"$tt" search --index m.tt --queries exp/candidate_embeddings.fvecs -k 3 > b.tsv
cmp -s a.tsv b.tsv || fail "the model's index and its export answer differently"
[ "$(wc -l < a.tsv)" -eq 46 ] || fail "15 queries x 3 results expected"

# Bad input.
expect_error() {  # expect_error NEEDLE COMMAND...
  needle=$1
  shift
  if "$@" > /dev/null 2> err.txt; then fail "accepted: $*"; fi
  grep -qF -- "$needle" err.txt || fail "message for '$*': $(cat err.txt)"
}
expect_error "vectors of dimension 8, the index's are 16" "$tt" search --index idx.tt --queries q8.npy
expect_error "row 1, column 3 is NaN" "$tt" search --index idx.tt --queries nan.npy
expect_error "-k" "$tt" search --index idx.tt --queries q.npy -k 0
expect_error "holds 299 keys for 300 vectors" "$tt" index build --vectors x.npy --keys keys299.npy -o bad.tt
expect_error "row 1, column 3 is NaN" "$tt" index build --vectors nan.npy -o bad.tt
printf '1\nbanana\n' > keys.txt
expect_error "keys.txt:2: 'banana' is not a decimal int64 key" "$tt" index build --vectors q8.npy --keys keys.txt -o bad.tt
expect_error "unknown precision 'int4'" "$tt" index build --vectors x.npy --precision int4 -o bad.tt
expect_error "expected a .npy or .fvecs file" "$tt" search --index idx.tt --queries ref.tsv
expect_error "a vector index file" "$tt" query idx.tt --set user_id=u7
[ ! -e bad.tt ] || fail "an output file was left behind"
echo "test_search.sh: all checks passed"
