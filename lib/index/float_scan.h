// Scores of a few queries against row-major float32 candidates, for exact searches of up to
// kFloatScanMaxQueries queries: such a search is bound by reading the candidates, and a GEMM
// call with one or two rows spends more on its blocking than on the arithmetic.
#pragma once

#include <cstddef>

namespace tt {

inline constexpr size_t kFloatScanMaxQueries = 4;

// scores[r * ld + j] = q_r . candidate j for nq <= kFloatScanMaxQueries queries (nq x d,
// row-major) and n candidates (n x d, row-major). Float32 sums in a fixed order (per
// candidate: 8 interleaved partial sums, then a fixed reduction tree), the same for any n.
void scan_float_rows(const float* candidates, size_t n, size_t d, const float* q, size_t nq, float* scores, size_t ld);

}  // namespace tt
