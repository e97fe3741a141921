#!/bin/sh
# `twotower --version` names the instruction sets in use (docs/architecture.md, "ISA"):
# TWOTOWER_MAX_ISA=baseline caps the library's kernels on any machine, avx2 caps them at AVX2 or
# below, and an unknown value is ignored with one warning on stderr (the best level is used).
# Usage: test_isa.sh TWOTOWER
set -eu
tt=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(env -u TWOTOWER_MAX_ISA "$tt" --version)
echo "$out"
echo "$out" | grep -Eq '^ISA: kernels (baseline|avx2|avx512) \(CPU: (baseline|avx2|avx512)' || fail "no ISA line: $out"
best=$(echo "$out" | sed -n 's/^ISA: kernels \([a-z0-9]*\) .*/\1/p')
cpu=$(echo "$out" | sed -n 's/.*(CPU: \([a-z0-9]*\).*/\1/p')
[ "$best" = "$cpu" ] || fail "without TWOTOWER_MAX_ISA the kernels run at $best on a $cpu CPU"

out=$(TWOTOWER_MAX_ISA=baseline "$tt" --version)
echo "$out" | grep -q '^ISA: kernels baseline (CPU: .*TWOTOWER_MAX_ISA=baseline)' || fail "baseline not forced: $out"

out=$(TWOTOWER_MAX_ISA=avx2 "$tt" --version)
case $cpu in
  baseline) want=baseline ;;
  *) want=avx2 ;;
esac
echo "$out" | grep -q "^ISA: kernels $want " || fail "TWOTOWER_MAX_ISA=avx2 gave: $out"

err=$(TWOTOWER_MAX_ISA=avx-9000 "$tt" --version 2>&1 >/dev/null)
[ "$(echo "$err" | grep -c 'ignoring TWOTOWER_MAX_ISA=avx-9000')" = 1 ] || fail "no single warning: $err"
out=$(TWOTOWER_MAX_ISA=avx-9000 "$tt" --version 2>/dev/null)
echo "$out" | grep -q "^ISA: kernels $best " || fail "an unknown value changed the level: $out"
echo "cli.isa: OK"
