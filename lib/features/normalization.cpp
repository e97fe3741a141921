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

// Neumaier's compensated sum: the running error term keeps the digits a plain sum of 1e5
// values around 1e9 would drop.
class CompensatedSum {
 public:
  void add(double x) {
    double t = sum_ + x;
    compensation_ += std::abs(sum_) >= std::abs(x) ? (sum_ - t) + x : (x - t) + sum_;
    sum_ = t;
  }
  double value() const { return sum_ + compensation_; }

 private:
  double sum_ = 0.0;
  double compensation_ = 0.0;
};

template <class T>
Normalization fit_values(std::span<const T> values) {
  if (values.empty()) fail(ErrorKind::invalid_argument, "Normalization::fit: no values");
  const double n = static_cast<double>(values.size());
  CompensatedSum total;
  for (T v : values) {
    double x = static_cast<double>(v);
    if (!std::isfinite(x)) fail(ErrorKind::invalid_argument, "Normalization::fit: values must be finite");
    total.add(x);
  }
  const double mean = total.value() / n;
  // Corrected two-pass: sum(d)^2 / n removes the error left in the mean.
  CompensatedSum deviations, squares;
  for (T v : values) {
    double d = static_cast<double>(v) - mean;
    deviations.add(d);
    squares.add(d * d);
  }
  const double sum_d = deviations.value();
  const double variance = std::max(0.0, (squares.value() - sum_d * sum_d / n) / n);
  if (!std::isfinite(variance)) fail(ErrorKind::invalid_argument, "Normalization::fit: the variance overflows float64");
  return Normalization::from_moments(mean, variance);
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
