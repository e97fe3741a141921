#include "index/float_scan.h"

#include "index/scan_kernels_table.h"

// The scan is built once per ISA level (scan_kernels_isa.h); this calls the active level's build.

namespace tt {

void scan_float_rows(const float* c, size_t n, size_t d, const float* q, size_t nq, float* scores, size_t ld) {
  scan_kernels().scan_float_rows(c, n, d, q, nq, scores, ld);
}

}  // namespace tt
