// Option structs cross the C ABI with their struct_size first: a caller compiled against an
// older header passes a shorter struct, of which only the fields it has are read.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/precision.h"
#include "twotower/twotower.h"

namespace tt::capi {

// The one struct_size check of the C API, for option structs read and result structs written:
// a caller's struct of `size` bytes must hold at least the fields every caller has (`min_size`)
// and at most what this library knows (`max_size`), else invalid_argument naming `name`.
inline void check_struct_size(size_t size, size_t min_size, size_t max_size, const char* name) {
  if (size < min_size || size > max_size)
    fail(ErrorKind::invalid_argument,
         std::string(name) + ".struct_size is " + std::to_string(size) + "; initialise it with " + name + "_init");
}

// The caller's options over the defaults `init` sets, or the defaults when `given` is NULL.
// A caller built against an older header passes a shorter struct: the fields it lacks keep their
// defaults. `min_size`: the fields a caller must have (the first version of the struct).
template <class T>
T read_options(const T* given, void (*init)(T*), const char* name, size_t min_size = sizeof(size_t)) {
  T o;
  init(&o);
  if (!given) return o;
  check_struct_size(given->struct_size, min_size, sizeof(T), name);
  std::memcpy(static_cast<void*>(&o), given, given->struct_size);
  return o;
}

}  // namespace tt::capi

namespace tt::capi {

// A flag field: 0 or 1, else invalid_argument naming it ("tt_save_options.include_optimizer").
inline bool flag_field(int32_t value, const char* field) {
  if (value != 0 && value != 1)
    fail(ErrorKind::invalid_argument, std::string(field) + " is " + std::to_string(value) + "; it must be 0 or 1");
  return value != 0;
}

// A numeric field within [lo, hi], else invalid_argument naming it and the range.
template <class T>
T range_field(T value, T lo, T hi, const char* field) {
  if (value < lo || value > hi)
    fail(ErrorKind::invalid_argument, std::string(field) + " is " + std::to_string(value) + "; it must be in " +
                                          std::to_string(lo) + ".." + std::to_string(hi));
  return value;
}

}  // namespace tt::capi

namespace tt::capi {

// A tt_precision field: nullopt for TT_PRECISION_KEEP, else one of the four precisions, else
// invalid_argument naming it.
inline std::optional<Precision> precision_arg(int32_t v, const char* name) {
  if (v == TT_PRECISION_KEEP) return std::nullopt;
  if (v < 0 || !precision_from_code(static_cast<uint32_t>(v)))
    fail(ErrorKind::invalid_argument,
         std::string(name) + " is " + std::to_string(v) + "; expected a tt_precision (0..3) or TT_PRECISION_KEEP (-1)");
  return static_cast<Precision>(v);
}

}  // namespace tt::capi
