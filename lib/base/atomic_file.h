// Saving that never leaves a half-written file. Bytes go to a temporary file beside the
// destination, which is fsync'ed and renamed over it, then the directory is fsync'ed. The
// temporary is named
//     <file name>.tmp-<pid>-<host>-<n>
// (pid and host of the writing process, n a per-process counter); a save killed before its
// rename leaves one behind, and the next save to the same path removes those whose process is
// gone: on this host, owned by the same user, and whose pid no longer runs.
//
// An existing destination keeps its permission bits (a 0600 file stays 0600; a new file gets
// 0666 less the umask), and a destination that is a symbolic link is followed: the link's
// target is replaced and the link stays.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tt {

// Throws ErrorKind::io naming the path and the failing step (a directory in the way included;
// invalid_argument for an empty path); on any failure the temporary is removed and an existing file at `path`
// is left untouched.
void write_file_atomically(const std::string& path, std::span<const uint8_t> bytes);
void write_file_atomically(const std::string& path, std::string_view text);

// Checks, before long work whose result will be saved there, that `path` can be written: not a
// directory, its directory exists and is writable. Throws ErrorKind::io naming `option`.
void check_writable_path(const std::string& path, const std::string& option);

}  // namespace tt
