#include "nn/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "base/error.h"
#include "base/parallel.h"

namespace tt {

void sgemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc) {
  // Empty operands are valid math that oneDNN refuses (status 2: a leading dimension of 0), and
  // they come from input (an empty catalogue or batch): C has no elements, or C = beta C.
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (long i = 0; i < m; ++i)
      for (long j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  // On the calling thread only: parallelism comes from the caller's ThreadPool (base/parallel.h),
  // and an OpenMP team here would spin-wait on a busy host and nest inside TBB.
  OmpSingleThreadScope single;
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fail(ErrorKind::internal, "oneDNN sgemm failed with status " + std::to_string(static_cast<int>(st)) + " for m=" +
                                  std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
}

const char* gemm_cpu_isa() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return "other";
  }
}

}  // namespace tt
