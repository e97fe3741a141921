#include "features/normalization.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tt {

namespace {
constexpr uint8_t kFormatVersion = 1;

bool valid_moments(double mean, double variance) {
  return std::isfinite(mean) && std::isfinite(variance) && variance >= 0.0;
}

template <class T>
Normalization fit_values(std::span<const T> values) {
  NormalizationFit f;
  for (T v : values) f.add_first(static_cast<double>(v));
  for (T v : values) f.add_second(static_cast<double>(v));
  return f.finish();
}

template <class T>
void apply_all(const Normalization& norm, std::span<const T> in, std::span<float> out) {
  if (in.size() != out.size())
    fail(ErrorKind::invalid_argument, "Normalization::apply: " + std::to_string(in.size()) + " inputs but " +
                                          std::to_string(out.size()) + " outputs");
  for (size_t i = 0; i < in.size(); ++i) out[i] = norm.normalize(static_cast<double>(in[i]));
}
}  // namespace

Normalization::Normalization(double mean, double variance)
    : mean_(mean), variance_(variance), scale_(std::max(std::sqrt(variance), min_scale)) {}

Normalization Normalization::fit(std::span<const int64_t> values) { return fit_values(values); }
Normalization Normalization::fit(std::span<const float> values) { return fit_values(values); }
Normalization Normalization::fit(std::span<const double> values) { return fit_values(values); }

Normalization Normalization::from_moments(double mean, double variance) {
  if (!valid_moments(mean, variance))
    fail(ErrorKind::invalid_argument, "Normalization: mean must be finite and variance finite and >= 0");
  return Normalization(mean, variance);
}

void CompensatedSum::add(double x) {
  const double t = sum_ + x;
  compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
  sum_ = t;
}

void NormalizationFit::add_first(double x) {
  if (!std::isfinite(x)) fail(ErrorKind::invalid_argument, "Normalization::fit: values must be finite");
  total_.add(x);
  ++n_;
}

void NormalizationFit::add_second(double x) {
  if (second_ == 0) {
    if (n_ == 0) fail(ErrorKind::invalid_argument, "Normalization::fit: no values");
    mean_ = total_.value() / static_cast<double>(n_);
  }
  const double d = x - mean_;
  deviations_.add(d);
  squares_.add(d * d);
  ++second_;
}

Normalization NormalizationFit::finish() const {
  if (n_ == 0) fail(ErrorKind::invalid_argument, "Normalization::fit: no values");
  if (second_ != n_)
    fail(ErrorKind::internal,
         "NormalizationFit: the second pass saw " + std::to_string(second_) + " of " + std::to_string(n_) + " values");
  // Corrected two-pass: sum(d)^2 / n removes the error left in the mean.
  const double n = static_cast<double>(n_), sum_d = deviations_.value();
  const double variance = std::max(0.0, (squares_.value() - sum_d * sum_d / n) / n);
  if (!std::isfinite(variance)) fail(ErrorKind::invalid_argument, "Normalization::fit: the variance overflows float64");
  return Normalization::from_moments(mean_, variance);
}

void Normalization::apply(std::span<const int64_t> in, std::span<float> out) const { apply_all(*this, in, out); }
void Normalization::apply(std::span<const float> in, std::span<float> out) const { apply_all(*this, in, out); }
void Normalization::apply(std::span<const double> in, std::span<float> out) const { apply_all(*this, in, out); }

void Normalization::save(ByteWriter& out) const {
  out.u8(kFormatVersion);
  out.f64(mean_);
  out.f64(variance_);
}

Normalization Normalization::load(ByteReader& in) {
  uint8_t version = in.u8();
  if (version != kFormatVersion) in.corrupt("Normalization: unknown format version " + std::to_string(version));
  double mean = in.f64();
  double variance = in.f64();
  if (!valid_moments(mean, variance)) in.corrupt("Normalization: mean must be finite and variance finite and >= 0");
  return Normalization(mean, variance);
}

}  // namespace tt
