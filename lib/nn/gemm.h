// Matrix products through oneDNN's sgemm (its JIT kernels pick AVX2 or AVX-512 at run time).
#pragma once

namespace tt {

// y = op(A) * op(B) * alpha + beta * C, row-major, always on the calling thread (OpenMP limited
// to one thread around the call; see base/parallel.h): split large products over a ThreadPool.
void sgemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc);

}  // namespace tt
