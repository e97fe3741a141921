#!/usr/bin/env bash
# Fails if libtwotower.a or libtwotower.so defines a global symbol a host could clash with: every
# global the library defines must be a tt_* C API function, or a weak instantiation of a template
# from a system header (std::, __gnu_cxx::: identical wherever they come from). CTest runs it.
#   tools/check-exports.sh libtwotower.a [libtwotower.so]
set -euo pipefail
status=0
for lib in "$@"; do
  [ -f "$lib" ] || { echo "check-exports: $lib not found" >&2; exit 2; }
  flags=(--defined-only --extern-only)
  case $lib in *.so*) flags+=(-D) ;; esac
  # Columns: value type name (C++ names demangled); drop archive member headers and blank lines.
  bad=$(nm "${flags[@]}" -C "$lib" | awk 'NF >= 3 { $1 = ""; sub(/^ /, ""); print }' |
        grep -vE '^[A-Za-z] tt_[a-z0-9_]+$' |
        grep -vE '^[VWuv] (std::|__gnu_cxx::|typeinfo (name )?for std::|vtable for std::|VTT for std::|guard variable for std::)' || true)
  if [ -n "$bad" ]; then
    echo "check-exports: $lib defines global symbols outside the C API:" >&2
    head -40 <<<"$bad" >&2
    echo "($(echo "$bad" | wc -l) in all)" >&2
    status=1
  else
    echo "check-exports: $lib exports $(nm "${flags[@]}" "$lib" | grep -cE ' [A-Za-z] tt_') tt_* symbols and nothing else of its own"
  fi
done
exit $status
