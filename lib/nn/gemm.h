// Matrix products through oneDNN's sgemm (its JIT kernels pick AVX2 or AVX-512 at run time).
#pragma once

namespace tt {

// y = op(A) * op(B) * alpha + beta * C, row-major, always on the calling thread (OpenMP limited
// to one thread around the call; see base/parallel.h): split large products over a ThreadPool.
void sgemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc);

// The instruction set oneDNN's kernels use here (DNNL_MAX_CPU_ISA / ONEDNN_MAX_CPU_ISA cap it),
// e.g. "avx512_core_bf16" or "avx2".
const char* gemm_cpu_isa();

}  // namespace tt
