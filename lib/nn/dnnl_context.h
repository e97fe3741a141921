// The one oneDNN CPU engine of the process and helpers to wrap our buffers as oneDNN memory.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace tt {

dnnl::engine& dnnl_cpu_engine();

// Row-major (M x N) float matrix descriptor ("ab").
inline dnnl::memory::desc dnnl_matrix_desc(long rows, long cols) {
  return dnnl::memory::desc({rows, cols}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab);
}

// y = op(A) * op(B) * alpha + beta * C, row-major, through oneDNN's sgemm. Inside a TBB task it
// runs on one thread (see base/parallel.h); on the caller's thread it uses OpenMP.
void sgemm(bool trans_a, bool trans_b, long m, long n, long k, float alpha, const float* a, long lda,
           const float* b, long ldb, float beta, float* c, long ldc);

}  // namespace tt
