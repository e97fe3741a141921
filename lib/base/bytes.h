// Little-endian byte writer and a bounds-checked reader. Every piece of state that goes into a
// model file (vocabularies, statistics, weights) is written with these, so a reader never
// trusts a length it has not checked against what is left.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace tt {

static_assert(std::endian::native == std::endian::little,
              "twotower's model files are little-endian and this build assumes a little-endian host");

class ByteWriter {
 public:
  void u8(uint8_t v) { raw(&v, 1); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void i64(int64_t v) { raw(&v, 8); }
  void f32(float v) { raw(&v, 4); }
  void f64(double v) { raw(&v, 8); }
  void str(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  void strings(std::span<const std::string> v) {
    u64(v.size());
    for (const auto& s : v) str(s);
  }
  template <class T>
  void array(std::span<const T> v) {
    u64(v.size());
    raw(v.data(), v.size() * sizeof(T));
  }
  template <class T>
  void array(const std::vector<T>& v) {
    array(std::span<const T>(v));
  }
  void raw(const void* p, size_t n) {
    auto b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }

  const std::vector<uint8_t>& bytes() const { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

class ByteReader {
 public:
  // `what` names the thing being read (a section, a transform) in every error message.
  ByteReader(std::span<const uint8_t> data, std::string what) : data_(data), what_(std::move(what)) {}

  uint8_t u8() {
    uint8_t v;
    raw(&v, 1, "u8");
    return v;
  }
  uint32_t u32() {
    uint32_t v;
    raw(&v, 4, "u32");
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    raw(&v, 8, "u64");
    return v;
  }
  int64_t i64() {
    int64_t v;
    raw(&v, 8, "i64");
    return v;
  }
  float f32() {
    float v;
    raw(&v, 4, "f32");
    return v;
  }
  double f64() {
    double v;
    raw(&v, 8, "f64");
    return v;
  }
  std::string str() {
    uint64_t n = count(1, "string");
    std::string s(n, '\0');
    raw(s.data(), n, "string");
    return s;
  }
  std::vector<std::string> strings() {
    // Each string needs at least its 8-byte length, which bounds the count before allocating.
    uint64_t n = count(8, "string list");
    std::vector<std::string> v;
    v.reserve(n);
    for (uint64_t i = 0; i < n; ++i) v.push_back(str());
    return v;
  }
  template <class T>
  std::vector<T> array() {
    uint64_t n = count(sizeof(T), "array");
    std::vector<T> v(n);
    raw(v.data(), n * sizeof(T), "array");
    return v;
  }
  void raw(void* out, size_t n, const char* field) {
    if (n > remaining())
      fail(ErrorKind::corrupt, what_ + ": truncated reading " + field + " at byte " + std::to_string(pos_) + " (need " +
                                   std::to_string(n) + ", have " + std::to_string(remaining()) + ")");
    if (n) std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
  }

  // The next n bytes, in place (no copy), checked like raw().
  std::span<const uint8_t> view(size_t n, const char* field) {
    if (n > remaining())
      fail(ErrorKind::corrupt, what_ + ": truncated reading " + field + " at byte " + std::to_string(pos_) + " (need " +
                                   std::to_string(n) + ", have " + std::to_string(remaining()) + ")");
    auto v = data_.subspan(pos_, n);
    pos_ += n;
    return v;
  }

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }
  const std::string& what() const { return what_; }
  // Throws unless every byte was consumed: trailing garbage means a format mismatch.
  void expect_end() const {
    if (remaining() != 0)
      fail(ErrorKind::corrupt, what_ + ": " + std::to_string(remaining()) + " unexpected trailing bytes");
  }
  [[noreturn]] void corrupt(const std::string& msg) const { fail(ErrorKind::corrupt, what_ + ": " + msg); }

 private:
  // Reads an element count and checks that count * min_elem_size bytes can still follow.
  uint64_t count(size_t min_elem_size, const char* field) {
    uint64_t n = u64();
    if (min_elem_size && n > remaining() / min_elem_size)
      fail(ErrorKind::corrupt, what_ + ": " + field + " length " + std::to_string(n) + " at byte " +
                                   std::to_string(pos_ - 8) + " exceeds the " + std::to_string(remaining()) +
                                   " bytes left");
    return n;
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace tt
