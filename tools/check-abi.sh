#!/usr/bin/env bash
# The C ABI against the committed baseline abi/libtwotower.abi (abigail-tools: abidw, abidiff).
# Any difference fails, so that every ABI change is announced in CHANGELOG.md; the message says
# whether it is an addition (compatible) or a break (TT_ABI_VERSION must change).
#
#   tools/check-abi.sh            build libtwotower.so with debug information (preset abi:
#                                 build/abi, -O0 -g, the shared library only) and compare (CI)
#   tools/check-abi.sh --update   the same, then write the baseline (after announcing the change)
# Options: --lib FILE.so (an existing build with -g instead of the abi preset), --baseline FILE,
# --headers DIR (the public headers; default include/twotower). tools/abi-classify.py sorts the
# differences; docs/c-api.md ("ABI stability") gives the rules.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
baseline=$root/abi/libtwotower.abi
headers=$root/include/twotower
lib=""
update=0
while (($#)); do
  case $1 in
    --update) update=1; shift ;;
    --lib) lib=${2:?--lib needs a file}; shift 2 ;;
    --baseline) baseline=${2:?--baseline needs a file}; shift 2 ;;
    --headers) headers=${2:?--headers needs a directory}; shift 2 ;;
    *) echo "usage: tools/check-abi.sh [--update] [--lib FILE.so] [--baseline FILE] [--headers DIR]" >&2; exit 2 ;;
  esac
done
for tool in abidw abidiff; do
  command -v $tool >/dev/null || { echo "check-abi: $tool not found (Debian: abigail-tools; tools/install-deps.sh --abi)" >&2; exit 2; }
done
if [ -z "$lib" ]; then
  (cd "$root" && cmake --preset abi >/dev/null && cmake --build --preset abi)
  lib=$root/build/abi/libtwotower.so
fi
[ -f "$lib" ] || { echo "check-abi: $lib not found" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only what the public headers declare and the exported functions reach; no paths, no DT_NEEDED
# (a sanitizer or another libc must not look like an ABI change).
abidw --headers-dir "$headers" --drop-private-types --exported-interfaces-only --drop-undefined-syms \
  --no-corpus-path --no-comp-dir-path --no-show-locs --no-elf-needed --no-architecture \
  --type-id-style hash --out-file "$tmp/current.abi" "$lib"
grep -q "<function-decl name='tt_" "$tmp/current.abi" ||
  { echo "check-abi: $lib has no debug information for the C API (build it with -g)" >&2; exit 2; }

if ((update)); then
  mkdir -p "$(dirname "$baseline")"
  cp "$tmp/current.abi" "$baseline"
  echo "check-abi: wrote $baseline ($(grep -c "<elf-symbol name='tt_" "$baseline") tt_* functions)"
  exit 0
fi
[ -f "$baseline" ] || { echo "check-abi: no baseline $baseline (tools/check-abi.sh --update writes it)" >&2; exit 2; }

set +e
abidiff --no-show-locs --harmless "$baseline" "$tmp/current.abi" >"$tmp/report.txt" 2>&1
diff_status=$?
python3 "$root/tools/abi-classify.py" "$baseline" "$tmp/current.abi" >"$tmp/classes.txt"
class_status=$?
set -e
# abidiff's status is a bit mask: 1 error, 2 usage error, 4 a change, 8 an incompatible change.
if ((diff_status & 3)) || ((class_status == 2)); then
  cat "$tmp/report.txt" "$tmp/classes.txt" >&2
  echo "check-abi: abidiff or abi-classify.py failed (status $diff_status, $class_status)" >&2
  exit 2
fi
if ((diff_status == 0 && class_status == 0)); then
  echo "check-abi: the C ABI of $lib equals the baseline $(basename "$baseline")"
  exit 0
fi

{
  echo "== abidiff $(basename "$baseline") (baseline) against $lib"
  cat "$tmp/report.txt"
  echo "== the differences by kind (tools/abi-classify.py)"
  cat "$tmp/classes.txt"
  echo
  if ((class_status == 3 || (diff_status & 8))); then
    echo "check-abi: INCOMPATIBLE: the C ABI changed in a way that breaks programs built against"
    echo "  the baseline (a function removed or retyped, a struct member removed, retyped or moved)."
    echo "  Either undo it, or make it a new ABI: bump TT_ABI_VERSION (and the library's minor"
    echo "  version, which is the SONAME), list the break in CHANGELOG.md's ABI section, then run"
    echo "  tools/check-abi.sh --update and commit abi/libtwotower.abi."
  elif ((class_status == 1)); then
    echo "check-abi: additions only (compatible; TT_ABI_VERSION stays). Announce them: add an entry"
    echo "  to CHANGELOG.md's ABI section, then run tools/check-abi.sh --update and commit"
    echo "  abi/libtwotower.abi."
  else
    echo "check-abi: abidiff reports a change that abi-classify.py does not recognise: read the"
    echo "  report; treat it as a break (TT_ABI_VERSION) unless it shows otherwise. Then announce it"
    echo "  in CHANGELOG.md's ABI section, run tools/check-abi.sh --update and commit abi/libtwotower.abi."
  fi
} >&2
exit 1
