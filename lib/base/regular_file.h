// Every path the library reads goes through here. Reading /dev/zero or /dev/urandom never
// ends, a FIFO without a writer blocks open() forever and a directory reads as an odd error,
// so input files are opened without blocking (O_NONBLOCK), checked to be regular files with
// fstat, and read up to the size fstat reported.
#pragma once

#include <cstdint>
#include <string>

namespace tt {

// An open, regular input file; closes its descriptor when destroyed.
class InputFile {
 public:
  // Throws ErrorKind::io naming `path` when it cannot be opened or is not a regular file
  // ("'/dev/zero' is a character device, not a regular file"). `what` says what the path was
  // for ("spec file", "model file"), for the message.
  static InputFile open(const std::string& path, const char* what = "input file");

  InputFile(InputFile&& other) noexcept : fd_(other.fd_), size_(other.size_) { other.fd_ = -1; }
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  ~InputFile();

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }  // as fstat reported it at open
  // Gives up ownership of the descriptor.
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  InputFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};

// The bytes of the regular file `path`: at most the size it had when opened (a file that grows
// meanwhile is read as it was). Errors as InputFile::open, and ErrorKind::io for read errors.
std::string read_regular_file(const std::string& path, const char* what = "input file");

// "a directory", "a FIFO", "a character device", ... for messages.
const char* file_type_name(unsigned mode);

}  // namespace tt
