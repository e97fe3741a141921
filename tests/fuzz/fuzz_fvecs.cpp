// libFuzzer target for the .fvecs reader (io/array_files.h): per-row dimensions against the
// file length. Beyond "no crash, a clear error": a file that reads is exactly what fvecs_bytes
// writes for the values it returned (the format has one spelling per matrix).
// Run: tests/fuzz/run-fuzzer.sh SECONDS fvecs
#include <algorithm>

#include "array_checks.h"

using namespace tt;
using namespace tt::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr const char* kTarget = "fuzz_fvecs";
  FloatArray a;
  if (!parses(kTarget, "fuzz.fvecs", [&] { a = parse_fvecs({data, size}, "fuzz.fvecs"); })) return 0;
  check_array(kTarget, a, "fuzz.fvecs");
  if (a.shape.size() != 2) finding(kTarget, "an .fvecs file read as other than a matrix");
  const std::vector<uint8_t> again = fvecs_bytes(a.values.data(), a.shape[0], a.shape[1]);
  if (!std::equal(again.begin(), again.end(), data, data + size))
    finding(kTarget, "the values read, written back with fvecs_bytes, differ from the file");
  return 0;
}
