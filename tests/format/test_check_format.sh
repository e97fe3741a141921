#!/usr/bin/env bash
# tools/check-format.sh passes a file laid out as .clang-format says, fails (exit 1, naming the
# file) on one that is not, and refuses to run without clang-format 14 (exit 2).
#   tests/format/test_check_format.sh PROJECT_SOURCE_DIR
set -euo pipefail
root=${1:?usage: test_check_format.sh PROJECT_SOURCE_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$root/.clang-format" "$work/"  # the style applies to files below it
fail() { echo "FAIL: $*" >&2; exit 1; }

printf '#pragma once\n\nint twice(int x) { return 2 * x; }\n' >"$work/good.h"
"$root/tools/check-format.sh" "$work/good.h" >"$work/out" 2>&1 || { cat "$work/out"; fail "a formatted file was refused"; }

printf '#pragma once\n\nint  twice( int x ){return 2*x;}\n' >"$work/bad.h"
status=0
"$root/tools/check-format.sh" "$work/good.h" "$work/bad.h" >"$work/out" 2>&1 || status=$?
[ "$status" = 1 ] || { cat "$work/out"; fail "an unformatted file gave exit $status, not 1"; }
grep -q "bad.h" "$work/out" || { cat "$work/out"; fail "the message does not name bad.h"; }
grep -q "good.h" "$work/out" && { cat "$work/out"; fail "the message names good.h"; }

status=0
CLANG_FORMAT=no-such-clang-format "$root/tools/check-format.sh" "$work/good.h" >"$work/out" 2>&1 || status=$?
[ "$status" = 2 ] && grep -q "not found" "$work/out" || { cat "$work/out"; fail "a missing clang-format gave exit $status"; }
echo "test_check_format: passed"
