// The index's scan kernels built for baseline x86-64 (no -march: the compiler's default target).
#define TT_ISA_NS isa_baseline
#include "index/scan_kernels_isa.h"
