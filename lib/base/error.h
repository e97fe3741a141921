// The one error type the engine throws. The C API turns it into a tt_status and a message;
// nothing else may escape the boundary.
#pragma once

#include <stdexcept>
#include <string>

namespace tt {

// Values are stable: the C API maps them one-to-one onto tt_status codes.
enum class ErrorKind {
  invalid_argument = 1,  // the caller passed something unusable (NULL, bad option, unknown name)
  io = 2,                // a file could not be opened, read or written
  parse = 3,             // a text input (CSV, JSON spec, MovieLens file) is malformed
  corrupt = 4,           // a binary model file or state blob is damaged or truncated
  unsupported = 5,       // a valid input that needs a feature this build does not have
  cancelled = 6,         // a progress callback asked to stop
  internal = 7,          // a bug or a failure from a dependency
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

[[noreturn]] inline void fail(ErrorKind kind, const std::string& message) { throw Error(kind, message); }

}  // namespace tt
