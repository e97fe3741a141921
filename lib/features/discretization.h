// Buckets a numeric feature (the timestamp) by sorted boundaries, like Keras Discretization:
// bucket(x) = number of boundaries <= x, so a value equal to a boundary goes right, anything
// below the first boundary is bucket 0, and there are num_boundaries + 1 buckets.
//
// Comparison semantics: twotower compares in float64 (int64 and float inputs are converted to
// double, boundaries are stored as double). TensorFlow's Bucketize op stores the boundaries as
// float32 and, on CPU, compares the input converted to float32; near MovieLens timestamps
// (~8.8e8) float32 has a spacing of 64 seconds, and the two semantics put 159 of the 100,000
// MovieLens timestamps in a different bucket (pinned by a unit test). Both are acceptable to the
// reference; float64 is the one that means what the boundaries say.
//
// NaN goes to bucket 0 (it is below nothing and above nothing; bucket 0 is also where Keras puts
// values below every boundary). -inf goes to bucket 0 and +inf to the last bucket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "base/bytes.h"

namespace tt {

class Discretization {
 public:
  // Bucket ids are int32.
  static constexpr size_t max_boundaries = std::numeric_limits<int32_t>::max();

  // No boundaries: a single bucket 0.
  Discretization() = default;

  // The boundaries must be finite and sorted ascending; equal neighbours are allowed (as in
  // TensorFlow's Bucketize) and just make an empty bucket. Else ErrorKind::invalid_argument.
  static Discretization from_boundaries(std::vector<double> boundaries);
  // Boundaries = linspace(min(values), max(values), num_boundaries), computed as numpy does.
  // `values` must be non-empty and (for floating inputs) finite, else ErrorKind::invalid_argument.
  static Discretization fit_linspace(std::span<const int64_t> values, size_t num_boundaries);
  static Discretization fit_linspace(std::span<const float> values, size_t num_boundaries);
  static Discretization fit_linspace(std::span<const double> values, size_t num_boundaries);

  // numpy.linspace(start, stop, num) in float64, bit for bit: step = (stop - start) / (num - 1),
  // y[i] = i * step + start (two roundings, no fused multiply-add), y[num - 1] = stop exactly.
  static std::vector<double> linspace(double start, double stop, size_t num);

  int32_t bucket(double x) const;
  size_t num_buckets() const { return boundaries_.size() + 1; }
  const std::vector<double>& boundaries() const { return boundaries_; }

  // out[i] = bucket(in[i]); the spans must have the same length (ErrorKind::invalid_argument).
  void apply(std::span<const int64_t> in, std::span<int32_t> out) const;
  void apply(std::span<const float> in, std::span<int32_t> out) const;
  void apply(std::span<const double> in, std::span<int32_t> out) const;

  void save(ByteWriter& out) const;
  // Throws ErrorKind::corrupt on a truncated blob, an unknown format version, or boundaries that
  // are too many, not finite or not sorted.
  static Discretization load(ByteReader& in);

 private:
  explicit Discretization(std::vector<double> boundaries) : boundaries_(std::move(boundaries)) {}
  std::vector<double> boundaries_;
};

}  // namespace tt
