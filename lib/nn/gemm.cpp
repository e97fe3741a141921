#include "nn/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "base/error.h"

namespace tt {

void sgemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda, const float* b,
           long ldb, float beta, float* c, long ldc) {
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fail(ErrorKind::internal, "oneDNN sgemm failed with status " + std::to_string(static_cast<int>(st)) + " for m=" +
                                  std::to_string(m) + " n=" + std::to_string(n) + " k=" + std::to_string(k));
}

}  // namespace tt
