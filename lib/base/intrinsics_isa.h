// <immintrin.h> for the kernels built once per ISA level (nn/row_kernels_isa.h,
// index/scan_kernels_isa.h), included only by the AVX2 and AVX-512 builds. GCC 12 reports its
// own AVX-512 intrinsics' undefined pass-through operand as maybe uninitialized
// (_mm512_undefined_*); the warning points into the header, so it is silenced there.
#pragma once

#if defined(__AVX2__) || defined(__FMA__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif
