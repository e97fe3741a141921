// Eight-float vectors (GCC's vector extensions) for the kernels built once per ISA level
// (nn/row_kernels_isa.h, index/scan_kernels_isa.h): each level's build maps them onto its
// registers (two SSE registers at baseline). Like those files this one is included by a
// translation unit that defines TT_ISA_NS, and everything here has internal linkage inside
// tt::TT_ISA_NS, so no level's code can stand in for another's at link time. The helpers are
// always inlined, so no 32-byte vector is ever passed between functions (GCC's -Wpsabi note).
#pragma once

#ifndef TT_ISA_NS
#error "define TT_ISA_NS (the namespace of this ISA level's build) before including vec_isa.h"
#endif

#include <cstdint>
#include <cstring>

namespace tt::TT_ISA_NS {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

[[gnu::always_inline]] inline v8f splat(float x) { return v8f{x, x, x, x, x, x, x, x}; }
[[gnu::always_inline]] inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store8(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }

}  // namespace
}  // namespace tt::TT_ISA_NS
