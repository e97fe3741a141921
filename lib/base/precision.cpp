#include "base/precision.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "base/error.h"

namespace tt {

const char* precision_name(Precision p) {
  switch (p) {
    case Precision::f32:
      return "f32";
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    case Precision::int8:
      return "int8";
  }
  return nullptr;
}

std::optional<Precision> precision_from_code(uint32_t code) {
  if (code > static_cast<uint32_t>(Precision::int8)) return std::nullopt;
  return static_cast<Precision>(code);
}

Precision parse_precision(std::string_view t, const std::string& what) {
  if (t == "f32" || t == "float32") return Precision::f32;
  if (t == "bf16" || t == "bfloat16") return Precision::bf16;
  if (t == "fp16" || t == "f16" || t == "float16" || t == "half") return Precision::fp16;
  if (t == "int8") return Precision::int8;
  fail(ErrorKind::invalid_argument,
       what + ": unknown precision '" + std::string(t) + "' (expected f32, bf16, fp16 or int8)");
}

size_t precision_element_size(Precision p) {
  switch (p) {
    case Precision::f32:
      return 4;
    case Precision::bf16:
    case Precision::fp16:
      return 2;
    case Precision::int8:
      return 1;
  }
  return 0;
}

uint16_t float_to_bf16(float x) {
  uint32_t u = std::bit_cast<uint32_t>(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even; overflows to infinity
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_float(uint16_t h) { return std::bit_cast<float>(uint32_t{h} << 16); }

uint16_t float_to_fp16(float value) {
  // After F. Giesen's float_to_half_fast3_rtne: exact round-to-nearest-even, subnormals included.
  constexpr uint32_t f32_infinity = 255u << 23;
  constexpr uint32_t f16_overflow = (127u + 16u) << 23;  // 65536: everything from here is infinity
  constexpr uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t x = std::bit_cast<uint32_t>(value);
  const uint32_t sign = x & 0x80000000u;
  x ^= sign;
  uint32_t o;
  if (x >= f16_overflow) {
    o = x > f32_infinity ? 0x7e00u : 0x7c00u;  // NaN stays NaN, the rest is infinity
  } else if (x < (113u << 23)) {
    // A subnormal or zero half: let the float adder round the mantissa into place.
    const float f = std::bit_cast<float>(x) + std::bit_cast<float>(denorm_magic);
    o = std::bit_cast<uint32_t>(f) - denorm_magic;
  } else {
    const uint32_t mant_odd = (x >> 13) & 1u;
    x += (static_cast<uint32_t>(15 - 127) << 23) + 0xfffu;  // rebias the exponent, round
    x += mant_odd;
    o = x >> 13;  // a carry out of the mantissa may make it infinity: correct for [65520, 65536)
  }
  return static_cast<uint16_t>(o | (sign >> 16));
}

float fp16_to_float(uint16_t h) {
  const uint32_t sign = uint32_t{h & 0x8000u} << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    const float v = std::ldexp(static_cast<float>(mant), -24);  // exact
    return std::bit_cast<float>(std::bit_cast<uint32_t>(v) | sign);
  }
  if (exp == 31) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (mant << 13));
}

namespace {

[[noreturn]] void bad_value(const std::string& what, size_t r, size_t c, float v, const char* why) {
  fail(ErrorKind::invalid_argument, what + ": value " + std::to_string(v) + " at row " + std::to_string(r) +
                                        ", column " + std::to_string(c) + " " + why);
}

// max|x| / 127, nudged by at most a few ulps to a value s with fl(fl(127 s) / 127) == s, so that
// requantizing the dequantized row (whose largest magnitude is fl(127 s)) finds s again.
float int8_scale(float absmax) {
  float s = absmax / 127.0f;
  if (s == 0.0f) return 0.0f;
  auto fixed = [](float c) { return (127.0f * c) / 127.0f == c; };
  if (fixed(s)) return s;
  float up = s, down = s;
  for (int i = 0; i < 16; ++i) {
    up = std::nextafter(up, INFINITY);
    if (fixed(up)) return up;
    down = std::nextafter(down, 0.0f);
    if (down > 0.0f && fixed(down)) return down;
  }
  return s;
}

}  // namespace

QuantizedRows quantize_rows(const float* x, size_t rows, size_t cols, Precision p, const std::string& what) {
  QuantizedRows q;
  q.precision = p;
  q.rows = rows;
  q.cols = cols;
  const size_t n = rows * cols;
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) bad_value(what, i / cols, i % cols, x[i], "is not finite");
  q.data.resize(n * precision_element_size(p));
  switch (p) {
    case Precision::f32:
      if (n) std::memcpy(q.data.data(), x, n * 4);
      break;
    case Precision::bf16:
    case Precision::fp16: {
      const bool bf = p == Precision::bf16;
      for (size_t i = 0; i < n; ++i) {
        const uint16_t h = bf ? float_to_bf16(x[i]) : float_to_fp16(x[i]);
        if ((h & 0x7fffu) == 0x7c00u && !bf)
          bad_value(what, i / cols, i % cols, x[i], "exceeds fp16's range (largest finite value 65504)");
        if ((h & 0x7fffu) == 0x7f80u && bf) bad_value(what, i / cols, i % cols, x[i], "rounds to infinity in bf16");
        std::memcpy(q.data.data() + 2 * i, &h, 2);
      }
      break;
    }
    case Precision::int8: {
      q.scales.resize(rows);
      for (size_t r = 0; r < rows; ++r) {
        const float* row = x + r * cols;
        float absmax = 0.0f;
        for (size_t c = 0; c < cols; ++c) absmax = std::max(absmax, std::fabs(row[c]));
        const float s = int8_scale(absmax);
        q.scales[r] = s;
        auto* out = reinterpret_cast<int8_t*>(q.data.data()) + r * cols;
        for (size_t c = 0; c < cols; ++c) {
          const float v = s == 0.0f ? 0.0f : std::nearbyint(row[c] / s);
          out[c] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
        }
      }
      break;
    }
  }
  return q;
}

void QuantizedRows::dequantize(float* out) const {
  const size_t n = rows * cols;
  switch (precision) {
    case Precision::f32:
      if (n) std::memcpy(out, data.data(), n * 4);
      break;
    case Precision::bf16:
    case Precision::fp16:
      for (size_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, data.data() + 2 * i, 2);
        out[i] = precision == Precision::bf16 ? bf16_to_float(h) : fp16_to_float(h);
      }
      break;
    case Precision::int8: {
      const auto* q = reinterpret_cast<const int8_t*>(data.data());
      for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) out[r * cols + c] = static_cast<float>(q[r * cols + c]) * scales[r];
      break;
    }
  }
}

void round_to_precision(float* x, size_t rows, size_t cols, Precision p, const std::string& what) {
  if (p == Precision::f32) return;
  quantize_rows(x, rows, cols, p, what).dequantize(x);
}

}  // namespace tt
