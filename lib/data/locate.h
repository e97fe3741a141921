// Where the MovieLens 100k directory is: an explicit path (the --data flag), else the
// TWOTOWER_DATA environment variable, else ../shared/data/ml-100k next to the project root.
#pragma once

#include <string>

namespace tt {

// `explicit_dir` may be empty. `project_root` is the source tree the tool or test was built
// from (may be empty); the fallback is tried relative to it and then to the working directory.
// Returns the first candidate that exists, or throws ErrorKind::io listing what was tried and
// how to get the data (tools/fetch-movielens.sh).
std::string locate_movielens(const std::string& explicit_dir, const std::string& project_root);

}  // namespace tt
