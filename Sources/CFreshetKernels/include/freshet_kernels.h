// Distance kernels for Freshet: f32, f16 (IEEE half, stored as uint16_t) and int8,
// each with a portable version and AVX2+FMA / AVX-512 versions selected at run time.
// No machine-specific build flags: the vector versions carry function-level target
// attributes and run only when the CPU reports the features.
//
// NaN policy: NaN in an input propagates to the result (the engine rejects
// non-finite vectors at ingest, so none reach the index). Lengths may be any value,
// including 0 (result 0) and odd sizes.
#ifndef FRESHET_KERNELS_H
#define FRESHET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    FRESHET_ISA_SCALAR = 0,
    FRESHET_ISA_AVX2 = 1,   // AVX2 + FMA + F16C
    FRESHET_ISA_AVX512 = 2, // AVX-512 F + BW + VL
} freshet_isa;

/// The best level this CPU supports.
freshet_isa freshet_best_isa(void);
/// Whether this CPU can run `isa`.
int freshet_isa_supported(freshet_isa isa);

/// Squared Euclidean distance.
float freshet_l2sq_f32(freshet_isa isa, const float *a, const float *b, size_t n);
/// Inner product.
float freshet_dot_f32(freshet_isa isa, const float *a, const float *b, size_t n);
/// Inner product of a and b and the squared norm of b, in one pass (cosine distance
/// with a precomputed query norm).
void freshet_dot_norm_f32(freshet_isa isa, const float *a, const float *b, size_t n, float *dot, float *norm_b);

/// The same over half-precision storage against an f32 query.
float freshet_l2sq_f32_f16(freshet_isa isa, const float *a, const uint16_t *b, size_t n);
/// Squared L2 between two f16 vectors (both widened to f32 first).
float freshet_l2sq_f16_f16(freshet_isa isa, const uint16_t *a, const uint16_t *b, size_t n);
void freshet_dot_norm_f32_f16(freshet_isa isa, const float *a, const uint16_t *b, size_t n, float *dot, float *norm_b);

/// Exact integer inner product and squared distance of int8 vectors.
int64_t freshet_dot_i8(freshet_isa isa, const int8_t *a, const int8_t *b, size_t n);
int64_t freshet_l2sq_i8(freshet_isa isa, const int8_t *a, const int8_t *b, size_t n);

/// Squared distances from `query` to `count` rows of `base` (row-major, `dim` wide),
/// written to `out`: the inner loop of exhaustive scans and k-means assignment.
void freshet_l2sq_f32_batch(freshet_isa isa, const float *query, const float *base, size_t count, size_t dim, float *out);
/// `freshet_l2sq_f32_batch` over f16 rows (each equal to `freshet_l2sq_f32_f16`'s answer).
void freshet_l2sq_f32_f16_batch(freshet_isa isa, const float *query, const uint16_t *base, size_t count, size_t dim, float *out);
/// Squared distances from `query` to `count` scaled int8 rows: row r stands for
/// `scales[r] * codes[r * dim + i]`, so `out[r] = Σ (query[i] - scales[r] * codes[r * dim + i])²`
/// (a quarter of f32's bytes to read; callers quantize residuals, see HeadIndex).
void freshet_l2sq_f32_i8s_batch(freshet_isa isa, const float *query, const int8_t *codes, const float *scales, size_t count, size_t dim, float *out);
/// Inner products and squared norms of `count` rows against `query`.
void freshet_dot_norm_f32_batch(freshet_isa isa, const float *query, const float *base, size_t count, size_t dim, float *dots, float *norms);

/// IEEE half ↔ single conversion (round to nearest even), portable.
float freshet_f16_to_f32(uint16_t h);
uint16_t freshet_f32_to_f16(float f);

#endif
