// Checks shared by the array-file fuzz targets (io/array_files.h).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "io/array_files.h"

namespace tt::fuzz {

// An array that parsed holds exactly as many values as its shape says.
inline void check_array(const char* target, const FloatArray& a, const std::string& what) {
  uint64_t n = 1;
  for (uint64_t d : a.shape) {
    if (d != 0 && n > UINT64_MAX / d) finding(target, what + ": the shape's element count overflows");
    n *= d;
  }
  if (n != a.values.size())
    finding(target, what + ": " + std::to_string(a.values.size()) + " values for a shape of " + std::to_string(n));
}

// Bit for bit, so that NaN payloads and signed zeros count.
inline bool same_values(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace tt::fuzz
