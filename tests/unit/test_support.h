// Helpers shared by the tests: where the MovieLens data is, and whether tests that need it may skip.
#pragma once

#include <cstdlib>
#include <string>

#include "data/locate.h"

namespace tt::test {

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
