#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "features/discretization.h"
#include "features_test_support.h"

using namespace tt;
using namespace tt::test;

TEST_CASE("Discretization: a value equal to a boundary goes right, out-of-range values clamp") {
  auto d = Discretization::from_boundaries({10.0, 20.0, 30.0});
  CHECK(d.num_buckets() == 4);
  CHECK(d.bucket(-1e300) == 0);
  CHECK(d.bucket(9.999) == 0);
  CHECK(d.bucket(10.0) == 1);
  CHECK(d.bucket(19.0) == 1);
  CHECK(d.bucket(20.0) == 2);
  CHECK(d.bucket(30.0) == 3);
  CHECK(d.bucket(1e300) == 3);
  CHECK(d.bucket(-std::numeric_limits<double>::infinity()) == 0);
  CHECK(d.bucket(std::numeric_limits<double>::infinity()) == 3);
}

TEST_CASE("Discretization: NaN goes to bucket 0") {
  auto d = Discretization::from_boundaries({1.0, 2.0});
  CHECK(d.bucket(std::nan("")) == 0);
  std::vector<float> in = {std::numeric_limits<float>::quiet_NaN(), 1.5f};
  std::vector<int32_t> out(2);
  d.apply(in, out);
  CHECK(out == std::vector<int32_t>{0, 1});
}

TEST_CASE("Discretization::apply over int64, float and double") {
  auto d = Discretization::from_boundaries({0.0, 2.5, 5.0});
  std::vector<int64_t> ints = {-3, 0, 2, 3, 5, 100};
  std::vector<float> floats = {-3.f, 0.f, 2.f, 2.5f, 5.f, 100.f};
  std::vector<double> doubles = {-3.0, 0.0, 2.4999999, 2.5, 4.9999, 5.0};
  std::vector<int32_t> out(6);
  d.apply(ints, out);
  CHECK(out == std::vector<int32_t>{0, 1, 1, 2, 3, 3});
  d.apply(floats, out);
  CHECK(out == std::vector<int32_t>{0, 1, 1, 2, 3, 3});
  d.apply(doubles, out);
  CHECK(out == std::vector<int32_t>{0, 1, 1, 2, 2, 3});
  std::vector<int32_t> wrong(2);
  CHECK(thrown_kind([&] { d.apply(ints, wrong); }) == kInvalid);
}

TEST_CASE("Discretization::from_boundaries rejects unsorted and non-finite boundaries") {
  CHECK(thrown_kind([] { (void)Discretization::from_boundaries({1.0, 3.0, 2.0}); }) == kInvalid);
  CHECK(thrown_kind([] { (void)Discretization::from_boundaries({1.0, std::nan("")}); }) == kInvalid);
  CHECK(thrown_kind([] { (void)Discretization::from_boundaries({std::numeric_limits<double>::infinity()}); }) ==
        kInvalid);
  // Equal neighbours are sorted (TensorFlow's Bucketize accepts them too): an empty bucket.
  auto d = Discretization::from_boundaries({1.0, 1.0, 2.0});
  CHECK(d.bucket(1.0) == 2);
  CHECK(Discretization().num_buckets() == 1);
  CHECK(Discretization().bucket(123.0) == 0);
}

TEST_CASE("Discretization::linspace matches numpy bit for bit") {
  // numpy.linspace(-3.3, 12.9, 13), printed with float.hex().
  std::vector<double> numpy = {
      -0x1.a666666666666p+1, -0x1.f333333333333p+0, -0x1.3333333333334p-1, 0x1.8000000000000p-1, 0x1.0ccccccccccccp+1,
      0x1.b999999999998p+1,  0x1.3333333333333p+2,  0x1.8999999999999p+2,  0x1.dffffffffffffp+2, 0x1.1b33333333332p+3,
      0x1.4666666666666p+3,  0x1.7199999999998p+3,  0x1.9cccccccccccdp+3};
  CHECK(Discretization::linspace(-3.3, 12.9, 13) == numpy);
  CHECK(Discretization::linspace(0.0, 1.0, 5) == std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0});
  CHECK(Discretization::linspace(5.0, 9.0, 1) == std::vector<double>{5.0});
  CHECK(Discretization::linspace(5.0, 9.0, 0).empty());
  CHECK(Discretization::linspace(7.0, 7.0, 3) == std::vector<double>{7.0, 7.0, 7.0});
}

TEST_CASE("Discretization::fit_linspace spans min to max of the values") {
  std::vector<int64_t> ints = {40, 0, 100, 60};
  auto d = Discretization::fit_linspace(ints, 5);
  CHECK(d.boundaries() == std::vector<double>{0.0, 25.0, 50.0, 75.0, 100.0});
  CHECK(d.num_buckets() == 6);
  std::vector<int32_t> out(4);
  d.apply(ints, out);
  CHECK(out == std::vector<int32_t>{2, 1, 5, 3});

  std::vector<float> floats = {1.0f, -1.0f};
  CHECK(Discretization::fit_linspace(floats, 3).boundaries() == std::vector<double>{-1.0, 0.0, 1.0});
  std::vector<double> constant = {3.0, 3.0};
  CHECK(Discretization::fit_linspace(constant, 2).boundaries() == std::vector<double>{3.0, 3.0});

  CHECK(thrown_kind([] { (void)Discretization::fit_linspace(std::span<const int64_t>(), 10); }) == kInvalid);
  std::vector<double> with_nan = {1.0, std::nan("")};
  CHECK(thrown_kind([&] { (void)Discretization::fit_linspace(with_nan, 10); }) == kInvalid);
}

TEST_CASE("Discretization save/load round trip and corrupt state") {
  auto d = Discretization::from_boundaries({-1.5, 0.0, 0.0, 7.25});
  auto blob = save_blob(d);
  auto loaded = load_blob<Discretization>(blob);
  CHECK(loaded.boundaries() == d.boundaries());
  std::vector<double> in = {-2, -1.5, 0, 3, 7.25, 8};
  std::vector<int32_t> a(in.size()), b(in.size());
  d.apply(in, a);
  loaded.apply(in, b);
  CHECK(a == b);

  check_truncations_are_corrupt<Discretization>(blob);
  check_bit_flips_never_crash<Discretization>(blob);

  ByteWriter unsorted;
  unsorted.u8(1);
  unsorted.array(std::vector<double>{2.0, 1.0});
  CHECK(thrown_kind([&] { (void)load_blob<Discretization>(unsorted.bytes()); }) == kCorrupt);
  ByteWriter nan;
  nan.u8(1);
  nan.array(std::vector<double>{std::nan("")});
  CHECK(thrown_kind([&] { (void)load_blob<Discretization>(nan.bytes()); }) == kCorrupt);
}
