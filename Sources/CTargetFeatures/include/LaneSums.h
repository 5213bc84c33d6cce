// The lane sums of a vector's worth of vectors at once, as a tree of
// shuffles and adds (a transpose-and-add): the few-row score kernel
// (Sources/Attention/Kernels/FewRowKernel.swift) sums each dot product's
// partial sums this way, one shuffle pair and one add per two vectors and
// level, instead of a reduction of its own per dot product.
//
// Swift has no shuffle with constant lane indices; `__builtin_shufflevector`
// is one, and leaves the choice of instruction to the target the code is
// compiled for (`vshuff32x4`, `vunpcklpd`, `vshufps` with AVX-512;
// `vperm2f128` and the like with AVX2). Static inline: compiled into the
// caller. The vector types import into Swift as SIMD16/SIMD8/SIMD4<Float>.
//
// Contract of attn_pair_sumsW_G(x, y): `x` and `y` each hold partial sums in
// groups of 2·G lanes, one group per dot product; the result holds the dot
// products of both in groups of G lanes, each lane the sum of two input
// lanes of the same dot product. Fed W vectors of W lanes (dot products
// 0 ..< W in order, paired as a balanced tree), the last level leaves one
// whole sum per lane, in the order attn_key_orderW puts right.
#ifndef ATTNBENCH_LANE_SUMS_H
#define ATTNBENCH_LANE_SUMS_H

typedef float attn_float16 __attribute__((vector_size(64)));
typedef float attn_float8 __attribute__((vector_size(32)));
typedef float attn_float4 __attribute__((vector_size(16)));

// 16 lanes: halves, then 128-bit chunks, then pairs and single lanes within chunks.
static inline attn_float16 attn_pair_sums16_8(attn_float16 x, attn_float16 y) {
    return __builtin_shufflevector(x, y, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
         + __builtin_shufflevector(x, y, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}
static inline attn_float16 attn_pair_sums16_4(attn_float16 x, attn_float16 y) {
    return __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27)
         + __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}
static inline attn_float16 attn_pair_sums16_2(attn_float16 x, attn_float16 y) {
    return __builtin_shufflevector(x, y, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)
         + __builtin_shufflevector(x, y, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
static inline attn_float16 attn_pair_sums16_1(attn_float16 x, attn_float16 y) {
    return __builtin_shufflevector(x, y, 0, 2, 16, 18, 4, 6, 20, 22, 8, 10, 24, 26, 12, 14, 28, 30)
         + __builtin_shufflevector(x, y, 1, 3, 17, 19, 5, 7, 21, 23, 9, 11, 25, 27, 13, 15, 29, 31);
}
// After the four levels lane 4·(k mod 4) + k/4 holds dot product k: a 4×4 transpose.
static inline attn_float16 attn_key_order16(attn_float16 v) {
    return __builtin_shufflevector(v, v, 0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
}

// 8 lanes: halves, then pairs and single lanes within each 128-bit half.
static inline attn_float8 attn_pair_sums8_4(attn_float8 x, attn_float8 y) {
    return __builtin_shufflevector(x, y, 0, 1, 2, 3, 8, 9, 10, 11)
         + __builtin_shufflevector(x, y, 4, 5, 6, 7, 12, 13, 14, 15);
}
static inline attn_float8 attn_pair_sums8_2(attn_float8 x, attn_float8 y) {
    return __builtin_shufflevector(x, y, 0, 1, 8, 9, 4, 5, 12, 13)
         + __builtin_shufflevector(x, y, 2, 3, 10, 11, 6, 7, 14, 15);
}
static inline attn_float8 attn_pair_sums8_1(attn_float8 x, attn_float8 y) {
    return __builtin_shufflevector(x, y, 0, 2, 8, 10, 4, 6, 12, 14)
         + __builtin_shufflevector(x, y, 1, 3, 9, 11, 5, 7, 13, 15);
}
// After the three levels lane 4·(k mod 2) + k/2 holds dot product k.
static inline attn_float8 attn_key_order8(attn_float8 v) {
    return __builtin_shufflevector(v, v, 0, 4, 1, 5, 2, 6, 3, 7);
}

// 4 lanes: pairs, then single lanes; the result is already in order.
static inline attn_float4 attn_pair_sums4_2(attn_float4 x, attn_float4 y) {
    return __builtin_shufflevector(x, y, 0, 1, 4, 5) + __builtin_shufflevector(x, y, 2, 3, 6, 7);
}
static inline attn_float4 attn_pair_sums4_1(attn_float4 x, attn_float4 y) {
    return __builtin_shufflevector(x, y, 0, 2, 4, 6) + __builtin_shufflevector(x, y, 1, 3, 5, 7);
}

#endif
