// The index's scan kernels built for AVX2 + FMA (-march=x86-64-v3, set in CMakeLists.txt).
#define TT_ISA_NS isa_avx2
#include "index/scan_kernels_isa.h"
