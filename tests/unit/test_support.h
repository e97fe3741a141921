// Helpers shared by the tests: where the MovieLens data is, and whether tests that need it may skip.
#pragma once

#include <cstdlib>
#include <string>

#include "base/error.h"
#include "data/locate.h"

namespace tt::test {

// The ErrorKind `f` throws as a tt::Error, or 0 when it returns normally.
template <class F>
int thrown_kind(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return static_cast<int>(e.kind());
  }
  return 0;
}
constexpr int kInvalid = static_cast<int>(ErrorKind::invalid_argument);
constexpr int kIo = static_cast<int>(ErrorKind::io);
constexpr int kCorrupt = static_cast<int>(ErrorKind::corrupt);
constexpr int kUnsupported = static_cast<int>(ErrorKind::unsupported);

// The MovieLens directory, or "" when it is absent outside CI. Under CI=true a missing data
// set is an error: tests that need it must run, not skip.
inline std::string movielens_dir() {
  try {
    return locate_movielens("", TT_SOURCE_DIR);
  } catch (...) {
    const char* ci = std::getenv("CI");
    if (ci && std::string(ci) == "true") throw;
    return "";
  }
}

}  // namespace tt::test
