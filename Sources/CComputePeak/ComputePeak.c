#include "ComputePeak.h"

#include <immintrin.h>
#include <pthread.h>
#include <time.h>

// Chains per kernel. An FMA has a latency of 4 cycles and two pipes on every
// CPU here, so 8 chains keep them busy; more covers slower cases (bf16 dot
// products, 5-6 cycles) and leaves the scheduler slack. Each kernel keeps its
// chains, the multiplier and the addend in registers: 24 + 2 of 32 zmm,
// 12 + 2 of 16 ymm or xmm.
enum { CHAINS_512 = 24, CHAINS_256 = 12, CHAINS_128 = 12 };

// Every chain starts from its own value, or the compiler may merge chains
// that it can prove equal. The multiplier is just below 1 and the addend
// small, so the values stay finite and normal however long the loop runs.
// All three are read at run time (volatile): with constants the compiler
// finds the loop's fixed point and removes the loop.
static volatile float start_value = 1.0f, multiplier = 0.9999999f, addend = 1e-7f;
#define START(i) (s0 + 0.001f * (float)(i))

#define REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define REPEAT24(X) REPEAT12(X) X(12) X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23)

__attribute__((target("avx512f"))) static float fma512(long iterations, float s0, float mv, float cv) {
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(START(i));
    REPEAT24(DECLARE)
#undef DECLARE
    const __m512 m = _mm512_set1_ps(mv), c = _mm512_set1_ps(cv);
    for (long n = 0; n < iterations; n++) {
#define STEP(i) a##i = _mm512_fmadd_ps(a##i, m, c);
        REPEAT24(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define ADD(i) s = _mm512_add_ps(s, a##i);
    REPEAT24(ADD)
#undef ADD
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma256(long iterations, float s0, float mv, float cv) {
#define DECLARE(i) __m256 a##i = _mm256_set1_ps(START(i));
    REPEAT12(DECLARE)
#undef DECLARE
    const __m256 m = _mm256_set1_ps(mv), c = _mm256_set1_ps(cv);
    for (long n = 0; n < iterations; n++) {
#define STEP(i) a##i = _mm256_fmadd_ps(a##i, m, c);
        REPEAT12(STEP)
#undef STEP
    }
    __m256 s = _mm256_setzero_ps();
#define ADD(i) s = _mm256_add_ps(s, a##i);
    REPEAT12(ADD)
#undef ADD
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

__attribute__((target("fma"))) static float fma128(long iterations, float s0, float mv, float cv) {
#define DECLARE(i) __m128 a##i = _mm_set1_ps(START(i));
    REPEAT12(DECLARE)
#undef DECLARE
    const __m128 m = _mm_set1_ps(mv), c = _mm_set1_ps(cv);
    for (long n = 0; n < iterations; n++) {
#define STEP(i) a##i = _mm_fmadd_ps(a##i, m, c);
        REPEAT12(STEP)
#undef STEP
    }
    __m128 s = _mm_setzero_ps();
#define ADD(i) s = _mm_add_ps(s, a##i);
    REPEAT12(ADD)
#undef ADD
    float lanes[4];
    _mm_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// Without FMA3: a multiply and an add per step, the 2 FLOP an FMA does.
static float mul_add128(long iterations, float s0, float mv, float cv) {
#define DECLARE(i) __m128 a##i = _mm_set1_ps(START(i));
    REPEAT12(DECLARE)
#undef DECLARE
    const __m128 m = _mm_set1_ps(mv), c = _mm_set1_ps(cv);
    for (long n = 0; n < iterations; n++) {
#define STEP(i) a##i = _mm_add_ps(_mm_mul_ps(a##i, m), c);
        REPEAT12(STEP)
#undef STEP
    }
    __m128 s = _mm_setzero_ps();
#define ADD(i) s = _mm_add_ps(s, a##i);
    REPEAT12(ADD)
#undef ADD
    float lanes[4];
    _mm_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

// acc += a·b over pairs of bf16 lanes. a is 1.0 in every lane and b the
// (run-time) addend, so each step adds a little: the accumulators stay finite.
__attribute__((target("avx512bf16,avx512f"))) static float bf16dot512(long iterations, float s0, float mv, float cv) {
#define DECLARE(i) __m512 a##i = _mm512_set1_ps(START(i));
    REPEAT24(DECLARE)
#undef DECLARE
    (void)mv;
    const __m512bh one = (__m512bh)_mm512_set1_epi16(0x3F80);  // bf16 1.0
    const __m512bh tiny = _mm512_cvtne2ps_pbh(_mm512_set1_ps(cv), _mm512_set1_ps(cv));
    for (long n = 0; n < iterations; n++) {
#define STEP(i) a##i = _mm512_dpbf16_ps(a##i, one, tiny);
        REPEAT24(STEP)
#undef STEP
    }
    __m512 s = _mm512_setzero_ps();
#define ADD(i) s = _mm512_add_ps(s, a##i);
    REPEAT24(ADD)
#undef ADD
    return _mm512_reduce_add_ps(s);
}

int attn_peak_supported(int kernel) {
    __builtin_cpu_init();
    switch (kernel) {
    case ATTN_PEAK_FMA512: return __builtin_cpu_supports("avx512f") ? 1 : 0;
    case ATTN_PEAK_FMA256: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1 : 0;
    case ATTN_PEAK_FMA128: return 1;
    case ATTN_PEAK_BF16DOT512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bf16") ? 1 : 0;
    default: return 0;
    }
}

double attn_peak_flops_per_iteration(int kernel) {
    switch (kernel) {
    case ATTN_PEAK_FMA512: return CHAINS_512 * 16 * 2;
    case ATTN_PEAK_FMA256: return CHAINS_256 * 8 * 2;
    case ATTN_PEAK_FMA128: return CHAINS_128 * 4 * 2;
    case ATTN_PEAK_BF16DOT512: return CHAINS_512 * 16 * 2 * 2;
    default: return 0;
    }
}

float attn_peak_run(int kernel, long iterations) {
    const float s0 = start_value, m = multiplier, c = addend;
    switch (kernel) {
    case ATTN_PEAK_FMA512: return fma512(iterations, s0, m, c);
    case ATTN_PEAK_FMA256: return fma256(iterations, s0, m, c);
    case ATTN_PEAK_FMA128:
        __builtin_cpu_init();
        return __builtin_cpu_supports("fma") ? fma128(iterations, s0, m, c) : mul_add128(iterations, s0, m, c);
    case ATTN_PEAK_BF16DOT512: return bf16dot512(iterations, s0, m, c);
    default: return 0;
    }
}

struct peak_job {
    int kernel;
    long iterations;
    const int *go;
    double end;
    float sink;
};

static double monotonic_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void *peak_worker(void *argument) {
    struct peak_job *job = argument;
    while (!__atomic_load_n(job->go, __ATOMIC_ACQUIRE)) {}  // every thread starts together
    job->sink = attn_peak_run(job->kernel, job->iterations);
    job->end = monotonic_seconds();
    return NULL;
}

double attn_peak_time_threads(int kernel, long iterations, int threads) {
    enum { MAX_THREADS = 256 };
    if (threads < 1 || threads > MAX_THREADS) { return -1; }
    pthread_t ids[MAX_THREADS];
    struct peak_job jobs[MAX_THREADS];
    int go = 0, started = 0;
    for (; started < threads; started++) {
        jobs[started] = (struct peak_job){kernel, iterations, &go, 0, 0};
        if (pthread_create(&ids[started], NULL, peak_worker, &jobs[started]) != 0) { break; }
    }
    double begin = monotonic_seconds(), last = begin;
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    float sink = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(ids[i], NULL);
        if (jobs[i].end > last) { last = jobs[i].end; }
        sink += jobs[i].sink;
    }
    // The sum depends on every accumulator; a NaN would mean a broken loop.
    if (started < threads || sink != sink) { return -1; }
    return last - begin;
}
