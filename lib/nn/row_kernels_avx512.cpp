// The row kernels built for AVX-512 (-march=x86-64-v4, set in CMakeLists.txt).
#define TT_ISA_NS isa_avx512
#include "nn/row_kernels_isa.h"
