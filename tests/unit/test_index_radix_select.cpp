// The radix select the approximate index picks its partitions with (index/radix_select.h):
// order_key keeps the order of floats (and makes -0 and +0 equal), and kth_largest gives the
// same k-th largest as sorting, with ties, negative numbers, infinities and every k.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "base/random.h"
#include "index/radix_select.h"

using namespace tt;

TEST_CASE("radix select: order_key keeps the order of floats, -0 equals +0") {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> ascending = {-inf,   -3e38f, -1.5f, -1e-30f, -1e-45f, 0.0f,
                                        1e-45f, 1e-30f, 1.0f,  2.5f,    3e38f,   inf};
  for (size_t i = 1; i < ascending.size(); ++i) CHECK(order_key(ascending[i - 1]) < order_key(ascending[i]));
  CHECK(order_key(-0.0f) == order_key(0.0f));
}

TEST_CASE("radix select: the k-th largest equals sorting's, for random keys with ties and every k") {
  Rng rng(7);
  std::vector<uint32_t> hist(kRadixSelectHistogram);
  for (int rep = 0; rep < 300; ++rep) {
    const size_t n = 1 + rng.below(rep < 100 ? 20 : 3000);
    std::vector<float> v(n);
    for (float& x : v) {
      // Coarse values (many ties), both signs, a few extremes and zeros of both signs.
      const uint64_t r = rng.below(100);
      x = r < 3    ? (r == 0 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity())
          : r < 6  ? (r == 3 ? -0.0f : 0.0f)
          : r < 50 ? std::floor(rng.uniform(-8.0f, 8.0f))
                   : rng.uniform(-1e6f, 1e6f);
    }
    std::vector<uint32_t> keys(n);
    for (size_t i = 0; i < n; ++i) keys[i] = order_key(v[i]);
    std::vector<uint32_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end(), std::greater<uint32_t>());
    for (size_t k : {size_t{1}, n, 1 + rng.below(n), 1 + rng.below(n)}) {
      CAPTURE(n);
      CAPTURE(k);
      CHECK(kth_largest(keys.data(), n, k, hist.data()) == sorted[k - 1]);
    }
  }
}
