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

// Neumaier's compensated sum: the running error term keeps the digits a plain sum of 1e5
// values around 1e9 would drop.
class CompensatedSum {
 public:
  void add(double x);
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0.0;
  double compensation_ = 0.0;
};

class Normalization;

// Normalization::fit over values given twice, in the same order (a streamed file read in two
// passes): add_first every value, then add_second every value; finish() is then bit for bit
// Normalization::fit of the values. Errors as fit's.
class NormalizationFit {
 public:
  void add_first(double x);
  void add_second(double x);
  bool empty() const { return n_ == 0; }
  Normalization finish() const;

 private:
  CompensatedSum total_, deviations_, squares_;
  uint64_t n_ = 0, second_ = 0;
  double mean_ = 0.0;
};

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
