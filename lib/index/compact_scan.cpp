#include "index/compact_scan.h"

#include <cstring>

#include "base/cpu_isa.h"
#include "index/scan_kernels_table.h"

// The scans themselves are built once per ISA level (scan_kernels_isa.h); this file packs the
// groups and calls the active level's build.

namespace tt {

namespace {

// lane_of(k): where candidate k of a group goes within an element's 16 slots.
template <class T, class Lane>
void pack_groups(const T* rows, size_t n, size_t d, T* out, Lane lane_of) {
  const size_t groups = (n + kScanGroup - 1) / kScanGroup;
  std::memset(out, 0, groups * kScanGroup * d * sizeof(T));
  for (size_t j = 0; j < n; ++j)
    for (size_t c = 0; c < d; ++c)
      out[(j / kScanGroup * d + c) * kScanGroup + lane_of(j % kScanGroup)] = rows[j * d + c];
}

}  // namespace

void pack_groups_u16(const uint16_t* rows, size_t n, size_t d, uint16_t* out) {
  // Candidate k < 8 is the low half of 32-bit word k, candidate k >= 8 the high half of word k - 8.
  pack_groups(rows, n, d, out, [](size_t k) { return k < 8 ? 2 * k : 2 * (k - 8) + 1; });
}
void pack_groups_i8(const int8_t* rows, size_t n, size_t d, int8_t* out) {
  pack_groups(rows, n, d, out, [](size_t k) { return k; });
}

void pack_groups_u4(const int8_t* rows, size_t n, size_t d, uint8_t* out) {
  const size_t groups = (n + kScanGroup - 1) / kScanGroup, octets = octets_of(d);
  std::memset(out, 0x88, groups * kScanGroup * octets * 4);
  for (size_t j = 0; j < n; ++j)
    for (size_t c = 0; c < d; ++c) {
      const size_t r = c % kOctet, shift = r / 4 * 4;
      uint8_t& byte = out[((j / kScanGroup * octets + c / kOctet) * kScanGroup + j % kScanGroup) * 4 + r % 4];
      byte = static_cast<uint8_t>((byte & ~(0xF << shift)) | ((rows[j * d + c] + 8) << shift));
    }
}

const ScanKernelTable& scan_kernels() {
  return isa_pick(isa_baseline::scan_kernel_table, isa_avx2::scan_kernel_table, isa_avx512::scan_kernel_table);
}

void scan_bf16(const uint16_t* packed, size_t groups, size_t d, const float* q, size_t nq, float* scores, size_t ld) {
  scan_kernels().scan_bf16(packed, groups, d, q, nq, scores, ld);
}

void scan_int8(const int8_t* packed, const float* scales, size_t groups, size_t d, const float* q, size_t nq,
               float* scores, size_t ld) {
  scan_kernels().scan_int8(packed, scales, groups, d, q, nq, scores, ld);
}

void scan_u4(const uint8_t* packed, const float* scales, size_t groups, size_t octets, const int8_t* q, float q_scale,
             float* scores) {
  // The nibbles carry x + 8: take 8 times the query's sum back off.
  int32_t sum = 0;
  for (size_t c = 0; c < octets * kOctet; ++c) sum += q[c];
  scan_kernels().scan_u4(packed, scales, groups, octets, q, 8 * sum, q_scale, scores);
}

}  // namespace tt
