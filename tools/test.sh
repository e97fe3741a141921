#!/usr/bin/env bash
# Builds twotower and runs the whole test suite. Usage: tools/test.sh [release|asan] (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
tools/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset" -j2
