#include "features/hashing.h"

#include <charconv>

#include <xxhash.h>

namespace tt {

namespace {
constexpr uint8_t kFormatVersion = 1;

bool valid_bucket_count(uint64_t n) { return n >= 1 && n <= Hashing::max_buckets; }

inline int32_t hash_bucket(std::string_view bytes, uint64_t num_buckets) {
  return static_cast<int32_t>(XXH64(bytes.data(), bytes.size(), 0) % num_buckets);
}

inline int32_t hash_bucket(int64_t value, uint64_t num_buckets) {
  char digits[24];  // "-9223372036854775808" is 20 characters
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // cannot fail: the buffer holds every int64
  return hash_bucket(std::string_view(digits, static_cast<size_t>(end - digits)), num_buckets);
}

template <class T>
void apply_all(std::span<const T> in, std::span<int32_t> out, uint64_t num_buckets) {
  if (in.size() != out.size())
    fail(ErrorKind::invalid_argument,
         "Hashing::apply: " + std::to_string(in.size()) + " inputs but " + std::to_string(out.size()) + " outputs");
  for (size_t i = 0; i < in.size(); ++i) out[i] = hash_bucket(in[i], num_buckets);
}
}  // namespace

Hashing::Hashing(uint64_t num_buckets) : num_buckets_(num_buckets) {
  if (!valid_bucket_count(num_buckets))
    fail(ErrorKind::invalid_argument, "Hashing: bucket count must be in [1, " + std::to_string(max_buckets) +
                                          "], got " + std::to_string(num_buckets));
}

int32_t Hashing::bucket(std::string_view value) const { return hash_bucket(value, num_buckets_); }
int32_t Hashing::bucket(int64_t value) const { return hash_bucket(value, num_buckets_); }

void Hashing::apply(std::span<const std::string> in, std::span<int32_t> out) const { apply_all(in, out, num_buckets_); }
void Hashing::apply(std::span<const int64_t> in, std::span<int32_t> out) const { apply_all(in, out, num_buckets_); }

void Hashing::save(ByteWriter& out) const {
  out.u8(kFormatVersion);
  out.u64(num_buckets_);
}

Hashing Hashing::load(ByteReader& in) {
  uint8_t version = in.u8();
  if (version != kFormatVersion) in.corrupt("Hashing: unknown format version " + std::to_string(version));
  uint64_t n = in.u64();
  if (!valid_bucket_count(n)) in.corrupt("Hashing: bucket count " + std::to_string(n) + " out of range");
  return Hashing(n);
}

}  // namespace tt
