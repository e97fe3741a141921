// TT_CLONES compiles a function for AVX-512, AVX2+FMA and baseline x86-64 and picks one at load
// time, so one binary is fast here and still runs on older machines. Helpers called from a
// clone must be always_inline: an out-of-line call between code built for different ISAs
// passes 32-byte vectors under different ABIs (GCC's -Wpsabi note).
#pragma once

// Sanitizer runtimes are not up yet when ifunc resolvers run, so sanitized builds use one version.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#define TT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define TT_CLONES
#endif
