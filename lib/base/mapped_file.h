// A read-only memory map of a regular file (opened through base/regular_file.h, so devices and
// FIFOs are refused). Readers of large binary inputs map them rather than read them: pages come
// in as they are touched and, being backed by the file, can be dropped again under pressure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tt {

class MappedFile {
 public:
  // Throws ErrorKind::io naming `path` (and `what` it was for) when it cannot be opened or mapped.
  static MappedFile open(const std::string& path, const char* what = "input file");

  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }
  // Tells the kernel the pages of [offset, offset + size) will not be needed soon, so they
  // leave this process's resident set (they are re-read from the file if touched again).
  void release(size_t offset, size_t size) const;

 private:
  MappedFile(const uint8_t* data, size_t size, std::string path) : data_(data), size_(size), path_(std::move(path)) {}
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace tt
