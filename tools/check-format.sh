#!/usr/bin/env bash
# The C and C++ files git tracks under lib/ include/ tools/ tests/ samples/ bench/ bindings/
# against .clang-format: clang-format-14 --dry-run --Werror, which changes nothing and fails
# naming each line that would move. Fix with `clang-format-14 -i FILE`; a block whose layout
# carries meaning (a table) can be fenced with `// clang-format off` / `// clang-format on`.
# Installs nothing: CI (.ci/run) installs clang-format-14 when it is missing.
#
#   tools/check-format.sh            every tracked file
#   tools/check-format.sh FILE...    just these
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=${CLANG_FORMAT:-clang-format-14}
command -v "$formatter" >/dev/null ||
  { echo "check-format: $formatter not found (Debian: apt-get install clang-format-14)" >&2; exit 2; }
# One version: another clang-format lays out some constructs differently.
"$formatter" --version | grep -q "version 14\." ||
  { echo "check-format: $formatter is not clang-format 14 ($("$formatter" --version))" >&2; exit 2; }
if (($#)); then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- 'lib/*' 'include/*' 'tools/*' 'tests/*' 'samples/*' 'bench/*' 'bindings/*' |
                       grep -E '\.(c|cc|cpp|h|hpp)$')
fi
if ! printf '%s\0' "${files[@]}" | xargs -0 "$formatter" --dry-run --Werror; then
  echo "check-format: the files above differ from .clang-format; run clang-format-14 -i on them" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files follow .clang-format"
