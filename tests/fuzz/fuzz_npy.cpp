// libFuzzer target for the .npy reader (io/array_files.h): header dictionary, format versions
// 1.0-3.0, dtypes, shapes against the data length. Beyond "no crash, a clear error": an array
// that reads holds as many values as its shape says, and a 2-D one written back with npy_bytes
// reads back to the same values.
// Run: tests/fuzz/run-fuzzer.sh SECONDS npy
#include "array_checks.h"

using namespace tt;
using namespace tt::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr const char* kTarget = "fuzz_npy";
  FloatArray a;
  if (!parses(kTarget, "fuzz.npy", [&] { a = parse_npy({data, size}, "fuzz.npy"); })) return 0;
  check_array(kTarget, a, "fuzz.npy");
  if (a.shape.size() != 2) return 0;
  const std::vector<uint8_t> again = npy_bytes(a.values.data(), a.shape[0], a.shape[1]);
  const FloatArray back = parse_npy(again, "written back");
  if (back.shape != a.shape || !same_values(back.values, a.values))
    finding(kTarget, "a 2-D array written back with npy_bytes reads differently");
  return 0;
}
