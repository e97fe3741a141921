// Helpers for the data-layer tests: a scratch directory for small synthetic input files (the
// MovieLens licence forbids copying any of its data into the repository) and error capture.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/error.h"

namespace tt::test {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tt_data_XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `bytes` exactly (binary mode) and returns the file's full path.
  std::string write(const std::string& name, std::string_view bytes) const {
    const std::string full = (std::filesystem::path(path_) / name).string();
    std::ofstream out(full, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + full);
    return full;
  }

 private:
  std::string path_;
};

// Runs `f`, which must throw tt::Error, and returns the error. A test that expects an error
// then checks its kind and that the message names the file, line and column.
template <class F>
Error expect_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a tt::Error, nothing was thrown");
  return Error(ErrorKind::internal, "unreachable");
}

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// Checks that the error's message contains every one of `parts` (file name, line, column...).
inline void check_message_has(const Error& e, std::initializer_list<std::string_view> parts) {
  const std::string message = e.what();
  for (std::string_view part : parts) {
    INFO("message: ", message);
    INFO("should contain: ", std::string(part));
    CHECK(contains(message, part));
  }
}

}  // namespace tt::test
