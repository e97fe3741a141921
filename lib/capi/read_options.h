// Option structs cross the C ABI with their struct_size first: a caller compiled against an
// older header passes a shorter struct, of which only the fields it has are read.
#pragma once

#include <cstring>
#include <string>

#include "base/error.h"

namespace tt::capi {

// The caller's options over the defaults `init` sets, or the defaults when `given` is NULL.
// A struct_size outside [sizeof(size_t), sizeof(T)] is invalid_argument naming `name`.
template <class T>
T read_options(const T* given, void (*init)(T*), const char* name) {
  T o;
  init(&o);
  if (!given) return o;
  if (given->struct_size < sizeof(size_t) || given->struct_size > sizeof(T))
    fail(ErrorKind::invalid_argument, std::string(name) + ".struct_size is " + std::to_string(given->struct_size) +
                                          "; initialise the struct with its _init function");
  std::memcpy(static_cast<void*>(&o), given, given->struct_size);
  return o;
}

}  // namespace tt::capi
