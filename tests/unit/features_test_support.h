// Helpers for the feature-transform tests: save/load round trips and damaged state blobs.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/error.h"
#include "test_support.h"

namespace tt::test {

template <class T>
std::vector<uint8_t> save_blob(const T& transform) {
  ByteWriter w;
  transform.save(w);
  return w.take();
}

// Loads a whole blob, requiring every byte to be consumed.
template <class T>
T load_blob(std::span<const uint8_t> blob) {
  ByteReader r(blob, "test blob");
  T t = T::load(r);
  r.expect_end();
  return t;
}

// Every strict prefix of a valid blob must be rejected as corrupt (the formats are self-delimiting).
template <class T>
void check_truncations_are_corrupt(const std::vector<uint8_t>& blob) {
  for (size_t n = 0; n < blob.size(); ++n) {
    ByteReader r(std::span<const uint8_t>(blob.data(), n), "truncated blob");
    CAPTURE(n);
    CHECK(thrown_kind([&] { (void)T::load(r); }) == kCorrupt);
  }
}

// Flipping any bit may still give a valid state (a different mean, say), but it must never crash
// or throw anything other than ErrorKind::corrupt. Runs under ASan/UBSan in CI-like builds.
template <class T>
void check_bit_flips_never_crash(const std::vector<uint8_t>& blob) {
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> damaged = blob;
      damaged[i] ^= static_cast<uint8_t>(1u << bit);
      ByteReader r(damaged, "damaged blob");
      int kind = thrown_kind([&] { (void)T::load(r); });
      CAPTURE(i);
      CAPTURE(bit);
      CHECK((kind == 0 || kind == kCorrupt));
    }
  }
}

}  // namespace tt::test
