// Sizes computed from input (rows x columns, queries x k, elements x bytes) are multiplied
// here, never with a bare `*`: a product that wraps would allocate or index a buffer far
// smaller than the code believes, so every overflow is an error naming what was being sized.
#pragma once

#include <cstddef>
#include <string>

#include "base/error.h"

namespace tt {

[[noreturn]] inline void fail_overflow(const char* what, const char* op, size_t a, size_t b) {
  fail(ErrorKind::invalid_argument,
       std::string(what) + ": " + std::to_string(a) + op + std::to_string(b) + " is too large to address");
}

// a * b, or ErrorKind::invalid_argument "<what>: a x b is too large to address".
inline size_t checked_mul(size_t a, size_t b, const char* what) {
  size_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) fail_overflow(what, " x ", a, b);
  return out;
}

inline size_t checked_add(size_t a, size_t b, const char* what) {
  size_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) fail_overflow(what, " + ", a, b);
  return out;
}

}  // namespace tt
