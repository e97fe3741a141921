#include "data/read_file.h"

#include "base/regular_file.h"

namespace tt {

std::string read_file(const std::string& path, const char* what) { return read_regular_file(path, what); }

}  // namespace tt
