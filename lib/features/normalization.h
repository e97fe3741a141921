// Standardises a numeric feature (the timestamp) to zero mean and unit variance, like Keras
// Normalization: out = (x - mean) / max(sqrt(variance), 1e-7), with the population mean and
// variance of the fitted values. Statistics and arithmetic are float64 (Keras adapts in float32,
// which loses digits on values around 8.8e8); the output is float32 because it feeds the tower.
// A NaN input gives a NaN output; fitting requires finite values.
#pragma once

#include <cstdint>
#include <span>

#include "base/bytes.h"

namespace tt {

class Normalization {
 public:
  static constexpr double min_scale = 1e-7;

  // The identity: mean 0, variance 1.
  Normalization() = default;

  // Population statistics by a compensated two-pass algorithm. `values` must be non-empty and
  // finite, else ErrorKind::invalid_argument.
  static Normalization fit(std::span<const int64_t> values);
  static Normalization fit(std::span<const float> values);
  static Normalization fit(std::span<const double> values);
  // mean finite, variance finite and >= 0, else ErrorKind::invalid_argument.
  static Normalization from_moments(double mean, double variance);

  double mean() const { return mean_; }
  double variance() const { return variance_; }
  // The divisor: max(sqrt(variance), 1e-7), so a constant feature maps to 0 instead of NaN.
  double scale() const { return scale_; }

  float normalize(double x) const { return static_cast<float>((x - mean_) / scale_); }

  // out[i] = normalize(in[i]); the spans must have the same length (ErrorKind::invalid_argument).
  void apply(std::span<const int64_t> in, std::span<float> out) const;
  void apply(std::span<const float> in, std::span<float> out) const;
  void apply(std::span<const double> in, std::span<float> out) const;

  void save(ByteWriter& out) const;
  // Throws ErrorKind::corrupt on a truncated blob, an unknown format version, a non-finite mean
  // or a negative or non-finite variance.
  static Normalization load(ByteReader& in);

 private:
  Normalization(double mean, double variance);
  double mean_ = 0.0;
  double variance_ = 1.0;
  double scale_ = 1.0;
};

}  // namespace tt
