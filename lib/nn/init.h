// Keras's default initialisers, drawn from twotower's own generator so that a seed fixes them.
#pragma once

#include <cmath>

#include "base/random.h"
#include "nn/matrix.h"

namespace tt {

// Glorot (Xavier) uniform: limit sqrt(6 / (fan_in + fan_out)), Keras's Dense default.
inline void glorot_uniform(Matrix& m, size_t fan_in, size_t fan_out, Rng& rng) {
  const float limit = static_cast<float>(std::sqrt(6.0 / static_cast<double>(fan_in + fan_out)));
  for (float& v : m.span()) v = rng.uniform(-limit, limit);
}

// Uniform(lo, hi): Keras's Embedding default is uniform(-0.05, 0.05).
inline void uniform_fill(Matrix& m, float lo, float hi, Rng& rng) {
  for (float& v : m.span()) v = rng.uniform(lo, hi);
}

}  // namespace tt
