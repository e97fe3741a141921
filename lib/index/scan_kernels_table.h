// The index scans' dispatch table: one instance per ISA level (scan_kernels_isa.h, compiled by
// scan_kernels_{baseline,avx2,avx512}.cpp); compact_scan.cpp and float_scan.cpp call through the
// active one.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tt {

struct ScanKernelTable {
  void (*scan_bf16)(const uint16_t*, size_t, size_t, const float*, size_t, float*, size_t);
  void (*scan_int8)(const int8_t*, const float*, size_t, size_t, const float*, size_t, float*, size_t);
  void (*scan_float_rows)(const float*, size_t, size_t, const float*, size_t, float*, size_t);
  // packed, scales, groups, octets, query, 8 * (sum of the query), query scale, scores
  void (*scan_u4)(const uint8_t*, const float*, size_t, size_t, const int8_t*, int32_t, float, float*);
};

namespace isa_baseline {
extern const ScanKernelTable scan_kernel_table;
}
namespace isa_avx2 {
extern const ScanKernelTable scan_kernel_table;
}
namespace isa_avx512 {
extern const ScanKernelTable scan_kernel_table;
}

// The table of the active ISA level (base/cpu_isa.h).
const ScanKernelTable& scan_kernels();

}  // namespace tt
