// Quantization (base/precision.h): bf16 and fp16 round to nearest even exactly as the reference
// conversions do, fp16 keeps subnormals and refuses overflow, int8 uses one scale per row, and
// every precision is idempotent (quantizing dequantized values gives the same bytes).
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <ios>

#include "base/precision.h"
#include "base/random.h"
#include "test_support.h"

using namespace tt;

namespace {

float from_bits(uint32_t u) { return std::bit_cast<float>(u); }

bool same_quantized(const QuantizedRows& a, const QuantizedRows& b) {
  return a.precision == b.precision && a.rows == b.rows && a.cols == b.cols && a.data == b.data &&
         a.scales.size() == b.scales.size() &&
         (a.scales.empty() || std::memcmp(a.scales.data(), b.scales.data(), a.scales.size() * 4) == 0);
}

// Rows of random magnitudes, from subnormal to large, with zero rows and exact ties mixed in.
std::vector<float> random_rows(size_t rows, size_t cols, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> x(rows * cols);
  for (size_t r = 0; r < rows; ++r) {
    const int exp = static_cast<int>(rng.below(60)) - 40;  // 2^-40 .. 2^19
    for (size_t c = 0; c < cols; ++c) {
      const double u = static_cast<double>(rng.below(1u << 24)) / (1u << 23) - 1.0;
      x[r * cols + c] = r % 17 == 5 ? 0.0f : static_cast<float>(std::ldexp(u, exp));
    }
  }
  return x;
}

}  // namespace

TEST_CASE("precision: names and parsing") {
  CHECK(std::string(precision_name(Precision::int8)) == "int8");
  CHECK(parse_precision("bfloat16", "x") == Precision::bf16);
  CHECK(parse_precision("half", "x") == Precision::fp16);
  CHECK(parse_precision("f32", "x") == Precision::f32);
  CHECK(precision_from_code(3) == Precision::int8);
  CHECK(!precision_from_code(4));
  CHECK(precision_element_size(Precision::bf16) == 2);
  try {
    parse_precision("int4", "--quantize");
    FAIL("accepted int4");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::invalid_argument);
    CHECK(std::string(e.what()) == "--quantize: unknown precision 'int4' (expected f32, bf16, fp16 or int8)");
  }
}

TEST_CASE("precision: bf16 rounds to nearest, ties to even") {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(from_bits(0x3f808000)) == 0x3f80);  // tie, even below
  CHECK(float_to_bf16(from_bits(0x3f818000)) == 0x3f82);  // tie, even above
  CHECK(float_to_bf16(from_bits(0x3f808001)) == 0x3f81);  // just above the tie
  CHECK(float_to_bf16(-2.0f) == 0xc000);
  CHECK(float_to_bf16(FLT_MAX) == 0x7f80);  // rounds to infinity
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  CHECK(bf16_to_float(0x3f81) == from_bits(0x3f810000));
  // Exhaustive over bf16: decoding then encoding is the identity (NaNs aside).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = bf16_to_float(static_cast<uint16_t>(h));
    if (!std::isnan(f)) REQUIRE(float_to_bf16(f) == h);
  }
}

TEST_CASE("precision: fp16 is IEEE binary16 with correct rounding, subnormals and overflow") {
  CHECK(float_to_fp16(1.0f) == 0x3c00);
  CHECK(float_to_fp16(65504.0f) == 0x7bff);
  CHECK(float_to_fp16(65519.99f) == 0x7bff);
  CHECK(float_to_fp16(65520.0f) == 0x7c00);  // the midpoint to 65536 rounds to even: infinity
  CHECK(float_to_fp16(-1e6f) == 0xfc00);
  CHECK(float_to_fp16(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(float_to_fp16(std::ldexp(1.0f, -25)) == 0x0000);  // tie with zero: even
  CHECK(float_to_fp16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(float_to_fp16(std::ldexp(3.0f, -25)) == 0x0002);  // tie between 1 and 2: even
  CHECK(float_to_fp16(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(float_to_fp16(-0.0f) == 0x8000);
  CHECK(fp16_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(fp16_to_float(0x7bff) == 65504.0f);
  CHECK(std::isinf(fp16_to_float(0x7c00)));
  CHECK(std::isnan(fp16_to_float(float_to_fp16(std::nanf("")))));
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = fp16_to_float(static_cast<uint16_t>(h));
    if (!std::isnan(f)) REQUIRE(float_to_fp16(f) == h);
  }
#ifdef __FLT16_MAX__
  // Against the compiler's correctly rounded conversion, on random bit patterns and near ties.
  Rng rng(99);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t u = static_cast<uint32_t>(rng.next());
    if (i % 2) {
      // Exponents around fp16's range (subnormal to overflow), mantissas on or next to a tie.
      const uint32_t e = 100u + static_cast<uint32_t>(rng.below(46));
      u = (u & 0x80000000u) | (e << 23) | (u & 0x007fe000u) | 0x00001000u | (u & 1u);
    }
    const float f = from_bits(u);
    if (std::isnan(f)) continue;
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t bits;
    std::memcpy(&bits, &ref, 2);
    if (float_to_fp16(f) != bits) FAIL("fp16 of " << f << " (0x" << std::hex << u << ")");
  }
#endif
}

TEST_CASE("precision: int8 has one symmetric scale per row") {
  const float x[6] = {1.0f, -2.54f, 0.5f, 0.0f, 0.0f, 0.0f};
  const QuantizedRows q = quantize_rows(x, 2, 3, Precision::int8, "t");
  REQUIRE(q.scales.size() == 2);
  CHECK(q.scales[0] == doctest::Approx(2.54f / 127.0f));
  CHECK(q.scales[1] == 0.0f);
  const auto* v = reinterpret_cast<const int8_t*>(q.data.data());
  CHECK(v[0] == 50);
  CHECK(v[1] == -127);
  CHECK(v[2] == 25);
  CHECK(v[3] == 0);
  CHECK(q.bytes() == 6 + 8);
  float back[6];
  q.dequantize(back);
  CHECK(back[1] == doctest::Approx(-2.54f));
  CHECK(back[3] == 0.0f);
  for (int i = 0; i < 3; ++i) CHECK(std::fabs(back[i] - x[i]) <= q.scales[0] / 2 * 1.0001f);
}

TEST_CASE("precision: quantization is idempotent at every precision") {
  const size_t rows = 3000, cols = 24;
  const std::vector<float> x = random_rows(rows, cols, 7);
  for (Precision p : {Precision::f32, Precision::bf16, Precision::fp16, Precision::int8}) {
    CAPTURE(precision_name(p));
    std::vector<float> y = x;
    if (p == Precision::fp16)
      for (float& v : y) v = std::clamp(v, -60000.0f, 60000.0f);
    const QuantizedRows q1 = quantize_rows(y.data(), rows, cols, p, "t");
    std::vector<float> d(rows * cols);
    q1.dequantize(d.data());
    const QuantizedRows q2 = quantize_rows(d.data(), rows, cols, p, "t");
    CHECK(same_quantized(q1, q2));
    std::vector<float> r = y;
    round_to_precision(r.data(), rows, cols, p, "t");
    CHECK(std::memcmp(r.data(), d.data(), d.size() * 4) == 0);
  }
}

TEST_CASE("precision: values that cannot be stored are refused with their position") {
  const float big[4] = {1.0f, 2.0f, 7e4f, 3.0f};
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::invalid_argument);
      return e.what();
    }
    return "";
  };
  CHECK(message([&] { quantize_rows(big, 2, 2, Precision::fp16, "tensor 'k'"); }) ==
        "tensor 'k': value 70000.000000 at row 1, column 0 exceeds fp16's range (largest finite value 65504)");
  CHECK(message([&] { quantize_rows(big, 2, 2, Precision::bf16, "t"); }).empty());
  const float inf[2] = {INFINITY, 0.0f};
  CHECK(message([&] { quantize_rows(inf, 1, 2, Precision::int8, "t"); }).find("row 0, column 0 is not finite") !=
        std::string::npos);
  const float huge[1] = {FLT_MAX};
  CHECK(message([&] { quantize_rows(huge, 1, 1, Precision::bf16, "t"); }).find("rounds to infinity in bf16") !=
        std::string::npos);
}
