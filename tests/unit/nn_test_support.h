// Helpers for the nn-layer tests: random data, finite differences and gradient comparison.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/random.h"
#include "nn/matrix.h"
#include "test_support.h"

namespace tt::nntest {

using test::kCorrupt;
using test::kInvalid;
using test::thrown_kind;

inline Matrix random_matrix(size_t rows, size_t cols, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Matrix m(rows, cols);
  for (float& v : m.span()) v = rng.uniform(lo, hi);
  return m;
}

inline std::vector<float> random_vector(size_t n, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  for (float& x : v) x = rng.uniform(lo, hi);
  return v;
}

// sum(r ⊙ y) in double: the scalar objective used to check a layer's backward pass.
inline double dot_objective(const Matrix& r, const Matrix& y) {
  REQUIRE(r.size() == y.size());
  double s = 0.0;
  for (size_t k = 0; k < y.size(); ++k) s += static_cast<double>(r.data()[k]) * y.data()[k];
  return s;
}

// Central difference of f() with respect to the float `v`. The step is the one actually applied
// (v ± eps rounded to float), so the rounding of v + eps costs no accuracy. Restores v.
template <class F>
double central_difference(float& v, float eps, F&& f) {
  const float orig = v;
  v = orig + eps;
  const float up = v;
  const double f_up = f();
  v = orig - eps;
  const float down = v;
  const double f_down = f();
  v = orig;
  return (f_up - f_down) / (static_cast<double>(up) - static_cast<double>(down));
}

// Numeric gradient of f() w.r.t. every entry of `values` (NaN where skip(k) says so).
template <class F, class Skip>
std::vector<double> numeric_gradient(std::span<float> values, float eps, F&& f, Skip&& skip) {
  std::vector<double> g(values.size());
  for (size_t k = 0; k < values.size(); ++k) g[k] = skip(k) ? std::nan("") : central_difference(values[k], eps, f);
  return g;
}
template <class F>
std::vector<double> numeric_gradient(std::span<float> values, float eps, F&& f) {
  return numeric_gradient(values, eps, f, [](size_t) { return false; });
}

// max |scale·a - n| / max |n| over the entries where n is not NaN: a max-norm relative error,
// so one wrong entry of the size of the largest gradient is enough to fail.
inline double max_rel_error(std::span<const float> analytic, std::span<const double> numeric, double scale = 1.0) {
  REQUIRE(analytic.size() == numeric.size());
  double diff = 0.0, ref = 0.0;
  for (size_t k = 0; k < numeric.size(); ++k) {
    if (std::isnan(numeric[k])) continue;
    diff = std::max(diff, std::abs(scale * analytic[k] - numeric[k]));
    ref = std::max(ref, std::abs(numeric[k]));
  }
  return diff / std::max(ref, 1e-30);
}

// Checks the analytic gradient against the numeric one within `tol`, and that this comparison
// is able to fail: the numeric gradient must be non-trivial, and the same analytic gradient
// doubled, halved or with its sign flipped must be rejected.
inline void check_gradient(std::span<const float> analytic, std::span<const double> numeric, double tol,
                           const std::string& what) {
  INFO(what);
  double ref = 0.0;
  size_t checked = 0;
  for (double n : numeric)
    if (!std::isnan(n)) {
      ref = std::max(ref, std::abs(n));
      ++checked;
    }
  REQUIRE(checked > 0);
  REQUIRE(ref > 1e-3);
  const double err = max_rel_error(analytic, numeric);
  CAPTURE(err);
  CHECK(err < tol);
  CHECK(max_rel_error(analytic, numeric, 2.0) > 10 * tol);
  CHECK(max_rel_error(analytic, numeric, 0.5) > 10 * tol);
  CHECK(max_rel_error(analytic, numeric, -1.0) > 10 * tol);
}

inline void check_gradient(const Matrix& analytic, std::span<const double> numeric, double tol,
                           const std::string& what) {
  check_gradient(analytic.span(), numeric, tol, what);
}

inline bool bit_equal(const Matrix& a, const Matrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return false;
  return a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// max |a - b| / max(max |b|, floor).
inline double max_rel_diff(const Matrix& a, const Matrix& b, double floor = 1e-30) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  double diff = 0.0, ref = floor;
  for (size_t k = 0; k < a.size(); ++k) {
    diff = std::max(diff, std::abs(static_cast<double>(a.data()[k]) - b.data()[k]));
    ref = std::max(ref, std::abs(static_cast<double>(b.data()[k])));
  }
  return diff / ref;
}

}  // namespace tt::nntest
