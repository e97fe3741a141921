#!/usr/bin/env bash
# tools/check-abi.sh on a small C library and variants of it: an unchanged library passes;
# additions (a function, an enumerator, a member appended to a struct that starts with
# struct_size) fail as compatible; a retyped member of the same size, a widened member, a removed
# function, reordered members, a changed signature and a grown struct without struct_size fail
# as incompatible.   Usage: test_check_abi.sh SOURCE_DIR
set -euo pipefail
src=$(cd "${1:?usage: test_check_abi.sh SOURCE_DIR}" && pwd)  # absolute: the script works in a temporary directory
check=$src/tools/check-abi.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

base='size_t struct_size; int32_t k; float recall;'
variant() { # NAME, tt_opts members, extra declarations, extra enumerators, extra definitions
  mkdir -p "inc-$1"
  cat >"inc-$1/tt.h" <<H
#include <stddef.h>
#include <stdint.h>
typedef enum tt_status { TT_OK = 0, TT_ERR = 1 $4 } tt_status;
typedef struct tt_opts { $2 } tt_opts;
typedef struct tt_fixed { int32_t a; int32_t b; } tt_fixed;
tt_status tt_f(const tt_opts* o);
void tt_fixed_get(tt_fixed* out);
$3
H
  cat >"$1.c" <<C
#include "tt.h"
tt_status tt_f(const tt_opts* o) { return o && o->k ? TT_OK : TT_ERR; }
void tt_fixed_get(tt_fixed* out) { out->a = 1; }
$5
C
  cc -g -O0 -shared -fPIC -I"inc-$1" "$1.c" -o "lib$1.so"
}
variant v1 "$base" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
variant same "$base" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
variant added "$base double extra;" "int tt_g(void); int tt_h(int);" ", TT_ERR_NEW = 2" \
  "int tt_g(void) { return 1; } int tt_h(int x) { return x; }"
variant retyped "size_t struct_size; int32_t k; int32_t recall;" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
variant widened "size_t struct_size; int64_t k; float recall;" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
variant removed "$base" "" "" ""
variant reordered "size_t struct_size; float recall; int32_t k;" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
variant signature "$base" "int tt_g(int);" "" "int tt_g(int x) { return x; }"
variant fixedgrew "$base" "int tt_g(void);" "" "int tt_g(void) { return 1; }"
sed -i 's/int32_t a; int32_t b; }/int32_t a; int32_t b; int32_t c; }/' inc-fixedgrew/tt.h
cc -g -O0 -shared -fPIC -Iinc-fixedgrew fixedgrew.c -o libfixedgrew.so

"$check" --update --lib libv1.so --headers inc-v1 --baseline v1.abi >/dev/null
failures=0
expect() { # VARIANT, expected exit status, a line the output must contain
  local out status=0
  out=$("$check" --lib "lib$1.so" --headers "inc-$1" --baseline v1.abi 2>&1) || status=$?
  if [ "$status" != "$2" ] || ! grep -qF -- "$3" <<<"$out"; then
    echo "FAIL $1: exit $status (expected $2), output lacks '$3':"; echo "$out"
    failures=$((failures + 1))
  else
    echo "ok   $1: exit $status, '$3'"
  fi
}
expect same 0 "equals the baseline"
expect added 1 "additions only"
expect added 1 "added: function tt_h(int)"
expect added 1 "added: struct tt_opts: member double extra appended"
expect added 1 "added: enum tt_status: TT_ERR_NEW = 2"
expect retyped 1 "INCOMPATIBLE"
expect retyped 1 "break: struct tt_opts: member 2 was float recall at bit 96, is int32_t recall at bit 96"
expect widened 1 "break: struct tt_opts: member 1 was int32_t k at bit 64, is int64_t k at bit 64"
expect removed 1 "break: function tt_g removed"
expect reordered 1 "break: struct tt_opts: member 1 was int32_t k at bit 64, is float recall at bit 64"
expect signature 1 "break: function tt_g: int() -> int(int)"
expect fixedgrew 1 "break: struct tt_fixed (it has no struct_size) changed size: 8 -> 12 bytes"
# Whatever the kind, the message says how to announce it.
expect added 1 "CHANGELOG.md's ABI section"
expect removed 1 "bump TT_ABI_VERSION"
exit $((failures > 0))
