#!/usr/bin/env bash
# Runs tests/abi/host_program.cpp (a C++ host linked with libtwotower.a that defines its own
# tt::read_file), after checking that the engine still defines that function: otherwise the
# host's copy would clash with nothing and the test would prove nothing.
#   test_host_program.sh ENGINE_ARCHIVE HOST_PROGRAM
set -euo pipefail
engine=${1:?usage: test_host_program.sh ENGINE_ARCHIVE HOST_PROGRAM}
host=${2:?usage: test_host_program.sh ENGINE_ARCHIVE HOST_PROGRAM}
symbols=$(nm -C --defined-only "$engine")
if ! grep -qE ' T tt::read_file\(std::__cxx11::basic_string<.*> const&, char const\*\)$' <<<"$symbols"; then
  echo "test_host_program: $engine no longer defines tt::read_file(const std::string&, const char*):" >&2
  echo "  give tests/abi/host_program.cpp another engine function to collide with" >&2
  exit 1
fi
"$host"
