// libFuzzer target for the safetensors reader (io/array_files.h): the 8-byte header size, the
// JSON header, dtypes, shapes and data offsets against the data. Beyond "no crash, a clear
// error": every tensor that reads holds as many values as its shape says, and the tensors of
// rank 2 or less written back with safetensors_bytes read back to the same values.
// Run: tests/fuzz/run-fuzzer.sh SECONDS safetensors
#include "array_checks.h"

using namespace tt;
using namespace tt::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr const char* kTarget = "fuzz_safetensors";
  std::vector<std::pair<std::string, FloatArray>> tensors;
  if (!parses(kTarget, "fuzz.safetensors", [&] { tensors = parse_safetensors({data, size}, "fuzz.safetensors"); }))
    return 0;
  std::vector<NamedTensor> named;
  for (const auto& [name, a] : tensors) {
    check_array(kTarget, a, "tensor '" + escape_for_message(name) + "'");
    if (a.shape.size() <= 2) named.push_back({name, a.rows(), a.cols(), a.values.data()});
  }
  const auto back = parse_safetensors(safetensors_bytes(named), "written back");
  if (back.size() != named.size()) finding(kTarget, "tensors written back with safetensors_bytes went missing");
  for (const auto& [name, a] : back) {
    bool found = false;
    for (const NamedTensor& t : named)
      if (t.name == name) {
        found = true;
        if (!same_values(a.values, std::vector<float>(t.data, t.data + t.rows * t.cols)))
          finding(kTarget, "tensor '" + escape_for_message(name) + "' reads differently once written back");
      }
    if (!found) finding(kTarget, "tensor '" + escape_for_message(name) + "' appeared when written back");
  }
  return 0;
}
