#include "features/discretization.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace tt {

namespace {
constexpr uint8_t kFormatVersion = 1;

void check_boundaries(const std::vector<double>& b, ErrorKind kind, const std::string& what) {
  if (b.size() > Discretization::max_boundaries)
    fail(kind, what + ": " + std::to_string(b.size()) + " boundaries exceed the int32 bucket limit");
  for (size_t i = 0; i < b.size(); ++i) {
    if (!std::isfinite(b[i])) fail(kind, what + ": boundary " + std::to_string(i) + " is not finite");
    if (i > 0 && b[i] < b[i - 1])
      fail(kind, what + ": boundaries are not sorted ascending (boundary " + std::to_string(i) + " < boundary " +
                     std::to_string(i - 1) + ")");
  }
}

template <class T>
Discretization fit_range(std::span<const T> values, size_t num_boundaries) {
  if (values.empty()) fail(ErrorKind::invalid_argument, "Discretization::fit_linspace: no values");
  if (num_boundaries > Discretization::max_boundaries)
    fail(ErrorKind::invalid_argument, "Discretization::fit_linspace: too many boundaries");
  double lo = static_cast<double>(values[0]), hi = lo;
  for (T v : values) {
    double d = static_cast<double>(v);
    if (!std::isfinite(d)) fail(ErrorKind::invalid_argument, "Discretization::fit_linspace: values must be finite");
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  return Discretization::from_boundaries(Discretization::linspace(lo, hi, num_boundaries));
}

template <class T>
void apply_all(const Discretization& d, std::span<const T> in, std::span<int32_t> out) {
  if (in.size() != out.size())
    fail(ErrorKind::invalid_argument, "Discretization::apply: " + std::to_string(in.size()) + " inputs but " +
                                          std::to_string(out.size()) + " outputs");
  for (size_t i = 0; i < in.size(); ++i) out[i] = d.bucket(static_cast<double>(in[i]));
}
}  // namespace

std::vector<double> Discretization::linspace(double start, double stop, size_t num) {
  std::vector<double> y(num);
  if (num == 0) return y;
  const size_t div = num - 1;
  const double delta = stop - start;
  if (div > 0) {
    const double step = delta / static_cast<double>(div);
    if (step == 0) {
      // numpy's path for a step that underflows to zero (gh-5437): scale by i / div first.
      for (size_t i = 0; i < num; ++i) y[i] = static_cast<double>(i) / static_cast<double>(div) * delta;
    } else {
      for (size_t i = 0; i < num; ++i) y[i] = static_cast<double>(i) * step;
    }
  } else {
    y[0] = 0.0 * delta;
  }
  // A separate statement from the multiplication: numpy rounds twice, so must we (no FMA).
  for (size_t i = 0; i < num; ++i) y[i] += start;
  if (num > 1) y[num - 1] = stop;
  return y;
}

Discretization Discretization::from_boundaries(std::vector<double> boundaries) {
  check_boundaries(boundaries, ErrorKind::invalid_argument, "Discretization::from_boundaries");
  return Discretization(std::move(boundaries));
}

Discretization Discretization::fit_linspace(std::span<const int64_t> values, size_t num_boundaries) {
  return fit_range(values, num_boundaries);
}
Discretization Discretization::fit_linspace(std::span<const float> values, size_t num_boundaries) {
  return fit_range(values, num_boundaries);
}
Discretization Discretization::fit_linspace(std::span<const double> values, size_t num_boundaries) {
  return fit_range(values, num_boundaries);
}

int32_t Discretization::bucket(double x) const {
  if (std::isnan(x)) return 0;
  return static_cast<int32_t>(std::upper_bound(boundaries_.begin(), boundaries_.end(), x) - boundaries_.begin());
}

void Discretization::apply(std::span<const int64_t> in, std::span<int32_t> out) const { apply_all(*this, in, out); }
void Discretization::apply(std::span<const float> in, std::span<int32_t> out) const { apply_all(*this, in, out); }
void Discretization::apply(std::span<const double> in, std::span<int32_t> out) const { apply_all(*this, in, out); }

void Discretization::save(ByteWriter& out) const {
  out.u8(kFormatVersion);
  out.array(boundaries_);
}

Discretization Discretization::load(ByteReader& in) {
  uint8_t version = in.u8();
  if (version != kFormatVersion) in.corrupt("Discretization: unknown format version " + std::to_string(version));
  std::vector<double> boundaries = in.array<double>();
  check_boundaries(boundaries, ErrorKind::corrupt, in.what() + ": Discretization");
  return Discretization(std::move(boundaries));
}

}  // namespace tt
