// Option and result structs cross the C ABI with their struct_size first: a caller compiled
// against an older header passes a shorter struct, of which only the fields it has are read or
// written.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/precision.h"
#include "capi/struct_sizes.h"
#include "twotower/twotower.h"

namespace tt::capi {

// A struct_size above this is an uninitialised field, not a struct: no struct of the C API
// comes near it, and believing it would read or write far beyond the caller's struct.
inline constexpr size_t kMaxStructSize = 65536;

// The one struct_size check of the C API, for option structs read and result structs written:
// a caller's struct of `size` bytes must hold at least the struct's first version (`min_size`,
// capi/struct_sizes.h); a larger one, from a newer header, is accepted (only the fields this
// library knows are read or written). Else invalid_argument naming `name`.
inline void check_struct_size(size_t size, size_t min_size, const char* name) {
  if (size < min_size || size > kMaxStructSize)
    fail(ErrorKind::invalid_argument, std::string(name) + ".struct_size is " + std::to_string(size) +
                                          "; it must be at least " + std::to_string(min_size) +
                                          " (the struct's first version): initialise it with " + name + "_init");
}

// The caller's options over the defaults `init` sets, or the defaults when `given` is NULL.
// A caller built against an older header passes a shorter struct: the fields it lacks keep their
// defaults. A caller built against a newer header may pass a longer one: the fields this library
// does not have must be zero (their bytes are checked), since ignoring an option the caller set
// would quietly do something else than asked.
template <class T>
T read_options(const T* given, void (*init)(T*), const char* name) {
  T o;
  init(&o);
  if (!given) return o;
  const size_t size = given->struct_size;
  check_struct_size(size, kFirstSize<T>, name);
  std::memcpy(static_cast<void*>(&o), given, size < sizeof(T) ? size : sizeof(T));
  const auto* bytes = reinterpret_cast<const unsigned char*>(given);
  for (size_t i = sizeof(T); i < size; ++i)
    if (bytes[i])
      fail(ErrorKind::invalid_argument, std::string(name) + ".struct_size is " + std::to_string(size) + " and byte " +
                                            std::to_string(i) + " is set, but this library's " + name + " has " +
                                            std::to_string(sizeof(T)) +
                                            " bytes: a newer option it does not have (upgrade the library)");
  o.struct_size = sizeof(T);
  return o;
}

// Checks a result struct's struct_size before any work is done (NULL: nothing to check).
template <class T>
void check_result(const T* out, const char* name) {
  if (out) check_struct_size(out->struct_size, kFirstSize<T>, name);
}

// Writes this library's `full` result into the caller's `out`, a struct of out->struct_size
// bytes: the fields that size covers and no byte beyond it (an older caller's struct is
// shorter); out->struct_size stays the caller's, and fields of a newer caller's longer struct
// that this library does not have are left as they are.
template <class T>
void write_result(const T& full, T* out, const char* name) {
  check_result(out, name);
  const size_t size = out->struct_size < sizeof(T) ? out->struct_size : sizeof(T);
  constexpr size_t head = sizeof(size_t);  // struct_size itself
  std::memcpy(reinterpret_cast<unsigned char*>(out) + head, reinterpret_cast<const unsigned char*>(&full) + head,
              size - head);
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
