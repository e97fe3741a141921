#include <doctest/doctest.h>

#include <limits>

#include "features/hashing.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

TEST_CASE("Hashing buckets are XXH64 with seed 0 modulo the bucket count") {
  // Known XXH64 digests (seed 0): "" -> 0xEF46DB3751D8E999, "a" -> 0xD24EC4F1A98C6E5B.
  Hashing h(1000);
  CHECK(h.bucket("") == static_cast<int32_t>(0xEF46DB3751D8E999ull % 1000));
  CHECK(h.bucket("a") == static_cast<int32_t>(0xD24EC4F1A98C6E5Bull % 1000));
  Hashing one(1);
  CHECK(one.bucket("anything") == 0);
}

TEST_CASE("Hashing an integer agrees with hashing its decimal string") {
  Hashing h(97);
  for (int64_t v : {int64_t{0}, int64_t{42}, int64_t{-7}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    CAPTURE(v);
    CHECK(h.bucket(v) == h.bucket(std::to_string(v)));
  }
}

TEST_CASE("Hashing::apply over strings and int64 stays in range") {
  Hashing h(7);
  std::vector<std::string> s = {"1", "2", "3", "42", "", "héllo"};
  std::vector<int64_t> i = {1, 2, 3, 42};
  std::vector<int32_t> out_s(s.size()), out_i(i.size());
  h.apply(s, out_s);
  h.apply(i, out_i);
  for (size_t k = 0; k < s.size(); ++k) {
    CHECK(out_s[k] >= 0);
    CHECK(out_s[k] < 7);
    CHECK(out_s[k] == h.bucket(s[k]));
  }
  for (size_t k = 0; k < i.size(); ++k) CHECK(out_i[k] == out_s[k]);
  std::vector<int32_t> wrong(1);
  CHECK(thrown_kind([&] { h.apply(s, wrong); }) == kInvalid);
}

TEST_CASE("Hashing rejects a bucket count of 0 or beyond int32") {
  CHECK(thrown_kind([] { Hashing h(0); }) == kInvalid);
  CHECK(thrown_kind([] { Hashing h(Hashing::max_buckets + 1); }) == kInvalid);
  CHECK(thrown_kind([] { Hashing h(Hashing::max_buckets); }) == 0);
}

TEST_CASE("Hashing save/load round trip and corrupt state") {
  Hashing h(12345);
  auto blob = save_blob(h);
  auto loaded = load_blob<Hashing>(blob);
  CHECK(loaded.num_buckets() == 12345);
  CHECK(loaded.bucket("movie") == h.bucket("movie"));
  check_truncations_are_corrupt<Hashing>(blob);
  check_bit_flips_never_crash<Hashing>(blob);

  ByteWriter zero;
  zero.u8(1);
  zero.u64(0);
  CHECK(thrown_kind([&] { (void)load_blob<Hashing>(zero.bytes()); }) == kCorrupt);
}
