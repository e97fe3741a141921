// Storage precisions of tensors (model-file dtypes) and the one implementation of quantizing
// float32 rows to them and back. Used by the model file (quantized weights and index), by
// `twotower convert --quantize`, by the array file readers (.npy, safetensors) and by the
// serving fast path. Depends on nothing but the standard library and base/error.h.
//
//   bf16  bfloat16: the top 16 bits of a float32, rounded to nearest, ties to even.
//   fp16  IEEE 754 binary16, rounded to nearest, ties to even; subnormals kept; values whose
//         magnitude rounds beyond 65504 become infinity (quantize() refuses them).
//   int8  symmetric, one float32 scale per row: scale = max|x| / 127, q = round(x / scale)
//         (to nearest, ties to even) in -127..127, x ~ q * scale. A zero row has scale 0.
//
// Quantization is idempotent: quantizing dequantized values gives back the same bytes (and
// for int8 the same scales), so a quantized model can be loaded (dequantized into float32),
// saved and re-quantized by the fast path without drifting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tt {

// Values are stored in model files as tensor dtypes: frozen, never renumber or reuse them.
enum class Precision : uint32_t { f32 = 0, bf16 = 1, fp16 = 2, int8 = 3 };

// "f32", "bf16", "fp16", "int8"; nullptr for a value outside the enum.
const char* precision_name(Precision p);
// A stored dtype number as a Precision, or nullopt if it is unknown.
std::optional<Precision> precision_from_code(uint32_t code);
// Accepts "f32"/"float32", "bf16"/"bfloat16", "fp16"/"f16"/"float16"/"half", "int8" (case-sensitive);
// anything else throws invalid_argument naming `what` and the accepted values.
Precision parse_precision(std::string_view text, const std::string& what);
// Bytes of one element: 4, 2, 2, 1.
size_t precision_element_size(Precision p);

uint16_t float_to_bf16(float x);
float bf16_to_float(uint16_t h);
uint16_t float_to_fp16(float x);
float fp16_to_float(uint16_t h);

// A rows x cols float32 matrix stored at some precision, row-major.
struct QuantizedRows {
  Precision precision = Precision::f32;
  size_t rows = 0, cols = 0;
  std::vector<uint8_t> data;  // rows * cols elements of precision_element_size(precision) bytes
  std::vector<float> scales;  // int8: one per row (x ~ q * scale); empty otherwise

  // Bytes this representation occupies (data plus scales).
  size_t bytes() const { return data.size() + scales.size() * sizeof(float); }
  // Writes rows * cols floats.
  void dequantize(float* out) const;
};

// Quantizes `rows` rows of `cols` floats. Every value must be finite and, for fp16 and bf16,
// must not round to infinity: otherwise throws invalid_argument naming `what`, the row and
// the column.
QuantizedRows quantize_rows(const float* x, size_t rows, size_t cols, Precision p, const std::string& what);

// x := dequantize(quantize(x)) in place: the values a model stored at `p` computes with.
void round_to_precision(float* x, size_t rows, size_t cols, Precision p, const std::string& what);

}  // namespace tt
