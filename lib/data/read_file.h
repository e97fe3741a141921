// Whole-file reads. The loaders parse one in-memory buffer with std::from_chars, which is far
// faster than streaming characters through iostreams.
#pragma once

#include <string>

namespace tt {

// The bytes of the regular file `path`, unchanged (base/regular_file.h: devices, FIFOs and
// directories are refused, never read). Throws ErrorKind::io naming `what` ("spec file"), the
// path and the reason.
std::string read_file(const std::string& path, const char* what = "file");

}  // namespace tt
