// Selecting the k-th largest of many float scores without sorting them: the approximate index
// picks the `probe` best of its partitions this way (the picking step went from 31-34 us to 13 us
// per 1M x 64 query, docs/benchmarks.md).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

namespace tt {

// A float (not NaN) as an unsigned integer of the same order; -0 as +0, so that equal floats
// give equal keys.
inline uint32_t order_key(float s) {
  uint32_t u;
  std::memcpy(&u, &s, sizeof u);
  if (u == 0x80000000u) u = 0;
  return u & 0x80000000u ? ~u : u | 0x80000000u;
}

inline constexpr size_t kRadixSelectHistogram = size_t{1} << 11;

// The k-th largest (1 <= k <= n) of n keys: three passes of a radix histogram (11, 11 and 10
// bits, from the top), each over the keys that share the bits found so far. hist: room for
// kRadixSelectHistogram counts.
inline uint32_t kth_largest(const uint32_t* keys, size_t n, size_t k, uint32_t* hist) {
  uint32_t prefix = 0, mask = 0;
  for (const auto& [shift, bits] : {std::pair<int, int>{21, 11}, {10, 11}, {0, 10}}) {
    const uint32_t digits = 1u << bits;
    std::fill(hist, hist + digits, 0u);
    for (size_t i = 0; i < n; ++i)
      if ((keys[i] & mask) == prefix) ++hist[(keys[i] >> shift) & (digits - 1)];
    uint32_t d = digits - 1;
    for (; hist[d] < k; --d) k -= hist[d];
    prefix |= d << shift;
    mask |= (digits - 1) << shift;
  }
  return prefix;
}

}  // namespace tt
