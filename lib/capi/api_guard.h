// The boundary between the C ABI and the C++ engine: every exported function body runs inside
// tt_guard, which turns any exception into a tt_status and the thread's last-error message.
#pragma once

#include <new>
#include <string>

#include "base/error.h"
#include "twotower/twotower.h"

namespace tt::capi {

void set_last_error(const std::string& message);
void clear_last_error();
const char* last_error_cstr();
tt_status to_status(ErrorKind kind);

template <class F>
tt_status guard(const char* function, F&& body) noexcept {
  try {
    clear_last_error();
    body();
    return TT_OK;
  } catch (const Error& e) {
    set_last_error(std::string(function) + ": " + e.what());
    return to_status(e.kind());
  } catch (const std::bad_alloc&) {
    set_last_error(std::string(function) + ": out of memory");
    return TT_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_last_error(std::string(function) + ": internal error: " + e.what());
    return TT_ERR_INTERNAL;
  } catch (...) {
    set_last_error(std::string(function) + ": internal error: unknown exception");
    return TT_ERR_INTERNAL;
  }
}

// Throws ErrorKind::invalid_argument naming the argument when p is NULL.
template <class T>
T* require(T* p, const char* name) {
  if (!p) fail(ErrorKind::invalid_argument, std::string(name) + " is NULL");
  return p;
}

}  // namespace tt::capi

#define TT_GUARD(...) ::tt::capi::guard(__func__, [&]() __VA_ARGS__)
