// What this build was compiled for and what the running CPU can do, for the
// kernel table (Sources/Attention/Kernels/KernelTable.swift).
//
// The build_* functions are static inline on purpose: they are compiled where
// they are imported, so they see the -target-cpu the Swift code was compiled
// with (SwiftPM passes it to the Clang importer as well). A kernel is usable
// only when both the build and the CPU have its instructions: a build for
// another CPU may lack them (-target-cpu haswell on an AVX-512 machine), and
// a CPU may lack what the build assumed.
#ifndef ATTNBENCH_TARGET_FEATURES_H
#define ATTNBENCH_TARGET_FEATURES_H

#include "LaneSums.h"
#include "Prefetch.h"

static inline int attn_build_has_avx512f(void) {
#if defined(__AVX512F__)
    return 1;
#else
    return 0;
#endif
}

static inline int attn_build_has_avx2_fma(void) {
#if defined(__AVX2__) && defined(__FMA__)
    return 1;
#else
    return 0;
#endif
}

/// 1 when the running CPU (and the operating system) supports AVX-512F.
int attn_cpu_has_avx512f(void);
/// 1 when the running CPU supports AVX2 and FMA.
int attn_cpu_has_avx2_fma(void);

#endif
