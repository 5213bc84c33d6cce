// Register-only loops that run one instruction as fast as the core can issue
// it: the compute roof of the roofline, measured rather than read off a
// datasheet. Each kernel is compiled for its own instruction set with a target
// attribute, whatever the rest of the build was compiled for, and runs only
// where attn_peak_supported says the CPU has it.
#ifndef ATTNBENCH_COMPUTE_PEAK_H
#define ATTNBENCH_COMPUTE_PEAK_H

/// The instructions measured.
enum attn_peak_kernel {
    /// vfmadd231ps on zmm: 16 lanes × 2 FLOP.
    ATTN_PEAK_FMA512 = 0,
    /// vfmadd231ps on ymm: 8 lanes × 2 FLOP.
    ATTN_PEAK_FMA256 = 1,
    /// vfmadd231ps on xmm (FMA3), else mulps + addps: 4 lanes × 2 FLOP.
    ATTN_PEAK_FMA128 = 2,
    /// vdpbf16ps on zmm: 16 lanes × 2 bf16 products, added: 64 FLOP.
    ATTN_PEAK_BF16DOT512 = 3,
};

/// 1 when this CPU (and its operating system) can run `kernel`, else 0.
int attn_peak_supported(int kernel);

/// FLOPs one iteration of `kernel` performs: its chains × FLOP per instruction.
double attn_peak_flops_per_iteration(int kernel);

/// Runs `iterations` iterations of `kernel`: each iteration issues one
/// instruction on each of the kernel's independent accumulator chains
/// (enough of them to cover latency × pipes on every CPU of the table).
/// Returns a value that depends on every accumulator, so the loop cannot be
/// removed.
float attn_peak_run(int kernel, long iterations);

/// Runs `iterations` iterations of `kernel` on `threads` threads at once
/// (pthreads, released together by a barrier) and returns the wall seconds
/// from the release to the last thread's end, or a negative number when the
/// threads could not be started. Dedicated threads, not a work queue: a
/// queue may run two items one after the other on one thread.
double attn_peak_time_threads(int kernel, long iterations, int threads);

#endif
