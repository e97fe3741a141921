#include "base/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace tt {

const char* file_type_name(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "not a regular file";
}

InputFile InputFile::open(const std::string& path, const char* what) {
  if (path.empty()) fail(ErrorKind::io, std::string(what) + ": the path is empty");
  // O_NONBLOCK: opening a FIFO that has no writer returns at once instead of waiting for one.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    fail(ErrorKind::io, "cannot open " + std::string(what) + " '" + path + "': " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    fail(ErrorKind::io, "cannot stat " + std::string(what) + " '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(ErrorKind::io,
         std::string(what) + " '" + path + "' is " + file_type_name(st.st_mode) + ", not a regular file");
  }
  // Regular files ignore O_NONBLOCK; clear it anyway so that later reads are plain reads.
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return InputFile(fd, static_cast<uint64_t>(st.st_size));
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string read_regular_file(const std::string& path, const char* what) {
  InputFile file = InputFile::open(path, what);
  if (file.size() > SIZE_MAX / 2)
    fail(ErrorKind::io,
         std::string(what) + " '" + path + "' is too large to read (" + std::to_string(file.size()) + " bytes)");
  std::string bytes(static_cast<size_t>(file.size()), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t r = ::read(file.fd(), bytes.data() + done, std::min<size_t>(bytes.size() - done, size_t{1} << 30));
    if (r < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      fail(ErrorKind::io, "error reading " + std::string(what) + " '" + path + "': " + std::strerror(e));
    }
    if (r == 0) break;  // the file shrank meanwhile: what is there is what it holds
    done += static_cast<size_t>(r);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace tt
