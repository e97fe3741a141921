// Hashes strings (or integers) into a fixed number of buckets, for vocabularies too large or too
// open to enumerate. bucket = XXH64(bytes, seed 0) % num_buckets: stable across platforms, builds
// and runs, so a saved model hashes the same way when loaded anywhere.
// Keras Hashing uses FarmHash64 instead, so bucket numbers do not match TensorFlow's; like Keras,
// an integer hashes as its decimal string, so 42 and "42" land in the same bucket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace tt {

class Hashing {
 public:
  // Bucket ids are int32.
  static constexpr uint64_t max_buckets = uint64_t{std::numeric_limits<int32_t>::max()} + 1;

  // 1 <= num_buckets <= max_buckets, else ErrorKind::invalid_argument.
  explicit Hashing(uint64_t num_buckets);

  uint64_t num_buckets() const { return num_buckets_; }
  int32_t bucket(std::string_view value) const;
  int32_t bucket(int64_t value) const;

  // out[i] = bucket(in[i]); the spans must have the same length (ErrorKind::invalid_argument).
  void apply(std::span<const std::string> in, std::span<int32_t> out) const;
  void apply(std::span<const int64_t> in, std::span<int32_t> out) const;

  void save(ByteWriter& out) const;
  // Throws ErrorKind::corrupt on a truncated blob, an unknown format version or a bucket count
  // outside [1, max_buckets].
  static Hashing load(ByteReader& in);

 private:
  uint64_t num_buckets_;
};

}  // namespace tt
