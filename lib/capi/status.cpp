#include "capi/api_guard.h"

#include <string_view>

#include "base/version.h"

namespace tt::capi {

namespace {
thread_local std::string last_error;
}

void set_last_error(const std::string& message) {
  try {
    last_error = message;
  } catch (...) {
    last_error.clear();  // out of memory for the message itself: leave it empty rather than throw
  }
}

void clear_last_error() { last_error.clear(); }

tt_status to_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return TT_ERR_INVALID_ARGUMENT;
    case ErrorKind::io:
      return TT_ERR_IO;
    case ErrorKind::parse:
      return TT_ERR_PARSE;
    case ErrorKind::corrupt:
      return TT_ERR_CORRUPT;
    case ErrorKind::unsupported:
      return TT_ERR_UNSUPPORTED;
    case ErrorKind::cancelled:
      return TT_ERR_CANCELLED;
    case ErrorKind::internal:
      return TT_ERR_INTERNAL;
  }
  return TT_ERR_INTERNAL;
}

const char* last_error_cstr() { return last_error.c_str(); }

}  // namespace tt::capi

extern "C" {

TT_API const char* tt_last_error(void) { return tt::capi::last_error_cstr(); }

TT_API const char* tt_status_name(tt_status status) {
  switch (status) {
    case TT_OK:
      return "TT_OK";
    case TT_ERR_INVALID_ARGUMENT:
      return "TT_ERR_INVALID_ARGUMENT";
    case TT_ERR_IO:
      return "TT_ERR_IO";
    case TT_ERR_PARSE:
      return "TT_ERR_PARSE";
    case TT_ERR_CORRUPT:
      return "TT_ERR_CORRUPT";
    case TT_ERR_UNSUPPORTED:
      return "TT_ERR_UNSUPPORTED";
    case TT_ERR_CANCELLED:
      return "TT_ERR_CANCELLED";
    case TT_ERR_INTERNAL:
      return "TT_ERR_INTERNAL";
    case TT_ERR_OUT_OF_MEMORY:
      return "TT_ERR_OUT_OF_MEMORY";
  }
  return "TT_ERR_UNKNOWN";
}

// The engine's copy of the version (base/version.h, written by CMake from this header's macros).
static_assert(std::string_view(TT_VERSION_STRING) == tt::kVersionString && TT_VERSION_MAJOR == tt::kVersionMajor &&
                  TT_VERSION_MINOR == tt::kVersionMinor && TT_VERSION_PATCH == tt::kVersionPatch,
              "base/version.h disagrees with include/twotower/twotower.h: re-run cmake");

TT_API uint32_t tt_version(void) { return TT_VERSION_NUMBER; }
TT_API const char* tt_version_string(void) { return TT_VERSION_STRING; }
TT_API uint32_t tt_abi_version(void) { return TT_ABI_VERSION; }

}  // extern "C"
