// Whole-file reads. The loaders parse one in-memory buffer with std::from_chars, which is far
// faster than streaming characters through iostreams.
#pragma once

#include <string>

namespace tt {

// The bytes of `path`, unchanged. Throws ErrorKind::io naming the path and the reason.
std::string read_file(const std::string& path);

}  // namespace tt
