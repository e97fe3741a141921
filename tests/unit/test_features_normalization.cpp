#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "features/normalization.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

TEST_CASE("Normalization::fit uses the population mean and variance") {
  std::vector<int64_t> v = {2, 4, 4, 4, 5, 5, 7, 9};
  auto n = Normalization::fit(v);
  CHECK(n.mean() == 5.0);
  CHECK(n.variance() == 4.0);
  CHECK(n.scale() == 2.0);
  std::vector<float> out(v.size());
  n.apply(v, out);
  CHECK(out == std::vector<float>{-1.5f, -0.5f, -0.5f, -0.5f, 0.f, 0.f, 1.f, 2.f});
}

TEST_CASE("Normalization keeps its digits on large offsets") {
  // A plain one-pass sum-of-squares formula loses the variance entirely here.
  std::vector<double> v;
  for (int i = 0; i < 1000; ++i) v.push_back(1e12 + (i % 2 ? 1.0 : -1.0));
  auto n = Normalization::fit(v);
  CHECK(n.mean() == doctest::Approx(1e12).epsilon(1e-15));
  CHECK(n.variance() == doctest::Approx(1.0).epsilon(1e-9));
}

TEST_CASE("Normalization of a constant feature divides by 1e-7, not 0") {
  std::vector<float> v = {3.f, 3.f, 3.f};
  auto n = Normalization::fit(v);
  CHECK(n.variance() == 0.0);
  CHECK(n.scale() == 1e-7);
  std::vector<float> in = {3.f, 3.5f}, out(2);
  n.apply(in, out);
  CHECK(out[0] == 0.f);
  CHECK(out[1] == doctest::Approx(5e6));
}

TEST_CASE("Normalization: NaN in gives NaN out and fitting needs finite values") {
  auto n = Normalization::from_moments(1.0, 4.0);
  std::vector<double> in = {std::nan(""), 3.0};
  std::vector<float> out(2);
  n.apply(in, out);
  CHECK(std::isnan(out[0]));
  CHECK(out[1] == 1.0f);
  std::vector<double> bad = {1.0, std::numeric_limits<double>::infinity()};
  CHECK(thrown_kind([&] { (void)Normalization::fit(bad); }) == kInvalid);
  CHECK(thrown_kind([] { (void)Normalization::fit(std::span<const float>()); }) == kInvalid);
  CHECK(thrown_kind([] { (void)Normalization::from_moments(0.0, -1.0); }) == kInvalid);
  std::vector<float> wrong(1);
  CHECK(thrown_kind([&] { n.apply(in, wrong); }) == kInvalid);
}

TEST_CASE("Normalization save/load round trip and corrupt state") {
  std::vector<int64_t> v = {874724710, 893286638, 880000000, 881234567};
  auto n = Normalization::fit(v);
  auto blob = save_blob(n);
  auto loaded = load_blob<Normalization>(blob);
  CHECK(loaded.mean() == n.mean());
  CHECK(loaded.variance() == n.variance());
  std::vector<float> a(v.size()), b(v.size());
  n.apply(v, a);
  loaded.apply(v, b);
  CHECK(a == b);

  check_truncations_are_corrupt<Normalization>(blob);
  check_bit_flips_never_crash<Normalization>(blob);

  ByteWriter negative;
  negative.u8(1);
  negative.f64(0.0);
  negative.f64(-1.0);
  CHECK(thrown_kind([&] { (void)load_blob<Normalization>(negative.bytes()); }) == kCorrupt);
  ByteWriter nan_mean;
  nan_mean.u8(1);
  nan_mean.f64(std::nan(""));
  nan_mean.f64(1.0);
  CHECK(thrown_kind([&] { (void)load_blob<Normalization>(nan_mean.bytes()); }) == kCorrupt);
}
