// A software prefetch, for streams the hardware prefetcher does not run far
// enough ahead of (Sources/Attention/Kernels/FewRowKernel.swift). Swift has no
// prefetch of its own; a static inline function is compiled into the caller.
#ifndef ATTNBENCH_PREFETCH_H
#define ATTNBENCH_PREFETCH_H

/// Asks for the cache line holding `p` to be brought into L2 for reading
/// (`prefetcht1`): into L1 as well (`prefetcht0`), the prefetches filled the
/// L1 miss buffers that the demand loads need (docs/DECISIONS.md). A hint
/// only: it never faults, even past the end of a buffer.
static inline void attn_prefetch(const void *p) { __builtin_prefetch(p, 0, 2); }

#endif
