// The row kernels built for AVX2 + FMA (-march=x86-64-v3, set in CMakeLists.txt).
#define TT_ISA_NS isa_avx2
#include "nn/row_kernels_isa.h"
