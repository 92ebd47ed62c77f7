#include "freshet_kernels.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FRESHET_X86 1
#else
#define FRESHET_X86 0
#endif

// ---------------------------------------------------------------- half precision

float freshet_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3FF;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

uint16_t freshet_f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    uint32_t sign = (bits >> 16) & 0x8000;
    uint32_t exponent = (bits >> 23) & 0xFF;
    uint32_t mantissa = bits & 0x7FFFFF;
    if (exponent == 0xFF) return (uint16_t)(sign | 0x7C00 | (mantissa ? 0x200 : 0));
    int32_t e = (int32_t)exponent - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mantissa |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mantissa >> shift;
        uint32_t rest = mantissa & ((1u << shift) - 1);
        uint32_t midpoint = 1u << (shift - 1);
        if (rest > midpoint || (rest == midpoint && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

// ---------------------------------------------------------------- portable

static float l2_scalar(const float *a, const float *b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
    }
    for (; i < n; i++) { float d = a[i] - b[i]; s0 += d * d; }
    return (s0 + s1) + (s2 + s3);
}

static void dot_norm_scalar(const float *a, const float *b, size_t n, float *dot, float *norm) {
    float d0 = 0, d1 = 0, n0 = 0, n1 = 0;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        d0 += a[i] * b[i]; n0 += b[i] * b[i];
        d1 += a[i + 1] * b[i + 1]; n1 += b[i + 1] * b[i + 1];
    }
    for (; i < n; i++) { d0 += a[i] * b[i]; n0 += b[i] * b[i]; }
    *dot = d0 + d1;
    *norm = n0 + n1;
}

static float l2_f16_scalar(const float *a, const uint16_t *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) { float d = a[i] - freshet_f16_to_f32(b[i]); s += d * d; }
    return s;
}

static float l2_f16_f16_scalar(const uint16_t *a, const uint16_t *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) { float d = freshet_f16_to_f32(a[i]) - freshet_f16_to_f32(b[i]); s += d * d; }
    return s;
}

static void dot_norm_f16_scalar(const float *a, const uint16_t *b, size_t n, float *dot, float *norm) {
    float d = 0, m = 0;
    for (size_t i = 0; i < n; i++) { float x = freshet_f16_to_f32(b[i]); d += a[i] * x; m += x * x; }
    *dot = d;
    *norm = m;
}

static float l2_i8s_scalar(const float *q, const int8_t *c, float scale, size_t n) {
    float r = 0;
    for (size_t i = 0; i < n; i++) { float d = q[i] - scale * (float)c[i]; r += d * d; }
    return r;
}

static int64_t dot_i8_scalar(const int8_t *a, const int8_t *b, size_t n) {
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

static int64_t l2_i8_scalar(const int8_t *a, const int8_t *b, size_t n) {
    int64_t s = 0;
    for (size_t i = 0; i < n; i++) { int32_t d = (int32_t)a[i] - (int32_t)b[i]; s += d * d; }
    return s;
}

// ---------------------------------------------------------------- AVX2 + FMA + F16C

#if FRESHET_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

/// Asks for `bytes` from `start` in cache ahead of use: batch scans read rows where
/// they lie (a head group, a posting), and ask for the rows four passes ahead.
static inline void prefetch_rows(const void *start, size_t bytes) {
    const char *p = (const char *)start;
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(p + offset);
}

AVX2 static float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

AVX2 static float l2_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d, d, s0);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

/// Four rows per pass, each summed in exactly `l2_avx2`'s order (so a batch and a
/// single call agree to the bit); the query chunk is loaded once for the four and the
/// four reductions overlap instead of ending every row with a dependent chain.
AVX2 static void l2_batch_avx2(const float *q, const float *base, size_t count, size_t n, float *out) {
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        const float *b[4] = {base + r * n, base + (r + 1) * n, base + (r + 2) * n, base + (r + 3) * n};
        __m256 s0[4], s1[4];
        for (int k = 0; k < 4; k++) { s0[k] = _mm256_setzero_ps(); s1[k] = _mm256_setzero_ps(); }
        size_t i = 0;
        for (; i + 16 <= n; i += 16) {
            __m256 x0 = _mm256_loadu_ps(q + i), x1 = _mm256_loadu_ps(q + i + 8);
            for (int k = 0; k < 4; k++) {
                __m256 d0 = _mm256_sub_ps(x0, _mm256_loadu_ps(b[k] + i));
                __m256 d1 = _mm256_sub_ps(x1, _mm256_loadu_ps(b[k] + i + 8));
                s0[k] = _mm256_fmadd_ps(d0, d0, s0[k]);
                s1[k] = _mm256_fmadd_ps(d1, d1, s1[k]);
            }
        }
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_loadu_ps(q + i);
            for (int k = 0; k < 4; k++) {
                __m256 d = _mm256_sub_ps(x, _mm256_loadu_ps(b[k] + i));
                s0[k] = _mm256_fmadd_ps(d, d, s0[k]);
            }
        }
        for (int k = 0; k < 4; k++) {
            float sum = hsum256(_mm256_add_ps(s0[k], s1[k]));
            for (size_t j = i; j < n; j++) { float d = q[j] - b[k][j]; sum += d * d; }
            out[r + k] = sum;
        }
    }
    for (; r < count; r++) out[r] = l2_avx2(q, base + r * n, n);
}

AVX2 static void dot_norm_avx2(const float *a, const float *b, size_t n, float *dot, float *norm) {
    __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps(), m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(a + i), y0 = _mm256_loadu_ps(b + i);
        __m256 x1 = _mm256_loadu_ps(a + i + 8), y1 = _mm256_loadu_ps(b + i + 8);
        d0 = _mm256_fmadd_ps(x0, y0, d0); m0 = _mm256_fmadd_ps(y0, y0, m0);
        d1 = _mm256_fmadd_ps(x1, y1, d1); m1 = _mm256_fmadd_ps(y1, y1, m1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
        d0 = _mm256_fmadd_ps(x, y, d0); m0 = _mm256_fmadd_ps(y, y, m0);
    }
    float d = hsum256(_mm256_add_ps(d0, d1)), m = hsum256(_mm256_add_ps(m0, m1));
    for (; i < n; i++) { d += a[i] * b[i]; m += b[i] * b[i]; }
    *dot = d;
    *norm = m;
}

AVX2 static float l2_f16_avx2(const float *a, const uint16_t *b, size_t n) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), y);
        s = _mm256_fmadd_ps(d, d, s);
    }
    float r = hsum256(s);
    for (; i < n; i++) { float d = a[i] - freshet_f16_to_f32(b[i]); r += d * d; }
    return r;
}

AVX2 static float l2_f16_f16_avx2(const uint16_t *a, const uint16_t *b, size_t n) {
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256 d = _mm256_sub_ps(x, y);
        s = _mm256_fmadd_ps(d, d, s);
    }
    float r = hsum256(s);
    for (; i < n; i++) { float d = freshet_f16_to_f32(a[i]) - freshet_f16_to_f32(b[i]); r += d * d; }
    return r;
}

/// Four f16 rows per pass, each summed in exactly `l2_f16_avx2`'s order: the single
/// kernel is one dependent chain of FMAs per row; four rows overlap their chains.
AVX2 static void l2_f16_batch_avx2(const float *q, const uint16_t *base, size_t count, size_t n, float *out) {
    prefetch_rows(base, (count < 16 ? count : 16) * n * 2);
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        if (r + 20 <= count) prefetch_rows(base + (r + 16) * n, 8 * n);
        const uint16_t *b[4] = {base + r * n, base + (r + 1) * n, base + (r + 2) * n, base + (r + 3) * n};
        __m256 s[4];
        for (int k = 0; k < 4; k++) s[k] = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_loadu_ps(q + i);
            for (int k = 0; k < 4; k++) {
                __m256 d = _mm256_sub_ps(x, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b[k] + i))));
                s[k] = _mm256_fmadd_ps(d, d, s[k]);
            }
        }
        for (int k = 0; k < 4; k++) {
            float sum = hsum256(s[k]);
            for (size_t j = i; j < n; j++) { float d = q[j] - freshet_f16_to_f32(b[k][j]); sum += d * d; }
            out[r + k] = sum;
        }
    }
    for (; r < count; r++) out[r] = l2_f16_avx2(q, base + r * n, n);
}

AVX2 static float l2_i8s_avx2(const float *q, const int8_t *c, float scale, size_t n) {
    __m256 s = _mm256_setzero_ps(), sc = _mm256_set1_ps(scale);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(c + i))));
        __m256 d = _mm256_fnmadd_ps(y, sc, _mm256_loadu_ps(q + i));
        s = _mm256_fmadd_ps(d, d, s);
    }
    float r = hsum256(s);
    for (; i < n; i++) { float d = q[i] - scale * (float)c[i]; r += d * d; }
    return r;
}

/// Four scaled int8 rows per pass, each summed in `l2_i8s_avx2`'s order.
AVX2 static void l2_i8s_batch_avx2(const float *q, const int8_t *codes, const float *scales, size_t count, size_t n, float *out) {
    prefetch_rows(codes, (count < 16 ? count : 16) * n);
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        if (r + 20 <= count) prefetch_rows(codes + (r + 16) * n, 4 * n);
        const int8_t *c[4] = {codes + r * n, codes + (r + 1) * n, codes + (r + 2) * n, codes + (r + 3) * n};
        __m256 s[4], sc[4];
        for (int k = 0; k < 4; k++) { s[k] = _mm256_setzero_ps(); sc[k] = _mm256_set1_ps(scales[r + k]); }
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_loadu_ps(q + i);
            for (int k = 0; k < 4; k++) {
                __m256 y = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(c[k] + i))));
                __m256 d = _mm256_fnmadd_ps(y, sc[k], x);
                s[k] = _mm256_fmadd_ps(d, d, s[k]);
            }
        }
        for (int k = 0; k < 4; k++) {
            float sum = hsum256(s[k]);
            for (size_t j = i; j < n; j++) { float d = q[j] - scales[r + k] * (float)c[k][j]; sum += d * d; }
            out[r + k] = sum;
        }
    }
    for (; r < count; r++) out[r] = l2_i8s_avx2(q, codes + r * n, scales[r], n);
}

AVX2 static void dot_norm_f16_avx2(const float *a, const uint16_t *b, size_t n, float *dot, float *norm) {
    __m256 d = _mm256_setzero_ps(), m = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 y = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(b + i)));
        d = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), y, d);
        m = _mm256_fmadd_ps(y, y, m);
    }
    float rd = hsum256(d), rm = hsum256(m);
    for (; i < n; i++) { float x = freshet_f16_to_f32(b[i]); rd += a[i] * x; rm += x * x; }
    *dot = rd;
    *norm = rm;
}

AVX2 static int64_t dot_i8_avx2(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    // 16 lanes widened to i16, multiplied and pairwise-added into i32: exact for any n
    // up to 2^31 / (2 * 128 * 128) blocks per lane before the i64 flush below.
    int64_t total = 0;
    size_t block = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
        if (++block == 4096) {
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, acc);
            for (int k = 0; k < 8; k++) total += lanes[k];
            acc = _mm256_setzero_si256();
            block = 0;
        }
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    for (int k = 0; k < 8; k++) total += lanes[k];
    for (; i < n; i++) total += (int32_t)a[i] * (int32_t)b[i];
    return total;
}

AVX2 static int64_t l2_i8_avx2(const int8_t *a, const int8_t *b, size_t n) {
    __m256i acc = _mm256_setzero_si256();
    size_t i = 0;
    int64_t total = 0;
    size_t block = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i)));
        __m256i y = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)));
        __m256i d = _mm256_sub_epi16(x, y);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(d, d));
        if (++block == 2048) {
            int32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, acc);
            for (int k = 0; k < 8; k++) total += lanes[k];
            acc = _mm256_setzero_si256();
            block = 0;
        }
    }
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, acc);
    for (int k = 0; k < 8; k++) total += lanes[k];
    for (; i < n; i++) { int32_t d = (int32_t)a[i] - (int32_t)b[i]; total += d * d; }
    return total;
}

// ---------------------------------------------------------------- AVX-512

AVX512 static float l2_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    if (i < n) { // masked tail: no scalar loop
        for (; i < n; i += 16) {
            __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
            s0 = _mm512_fmadd_ps(d, d, s0);
        }
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

/// Four rows per pass, each summed in exactly `l2_avx512`'s order (see l2_batch_avx2).
AVX512 static void l2_batch_avx512(const float *q, const float *base, size_t count, size_t n, float *out) {
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        const float *b[4] = {base + r * n, base + (r + 1) * n, base + (r + 2) * n, base + (r + 3) * n};
        __m512 s0[4], s1[4];
        for (int k = 0; k < 4; k++) { s0[k] = _mm512_setzero_ps(); s1[k] = _mm512_setzero_ps(); }
        size_t i = 0;
        for (; i + 32 <= n; i += 32) {
            __m512 x0 = _mm512_loadu_ps(q + i), x1 = _mm512_loadu_ps(q + i + 16);
            for (int k = 0; k < 4; k++) {
                __m512 d0 = _mm512_sub_ps(x0, _mm512_loadu_ps(b[k] + i));
                __m512 d1 = _mm512_sub_ps(x1, _mm512_loadu_ps(b[k] + i + 16));
                s0[k] = _mm512_fmadd_ps(d0, d0, s0[k]);
                s1[k] = _mm512_fmadd_ps(d1, d1, s1[k]);
            }
        }
        for (; i < n; i += 16) {
            __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
            for (int k = 0; k < 4; k++) {
                __m512 d = _mm512_sub_ps(x, _mm512_maskz_loadu_ps(mask, b[k] + i));
                s0[k] = _mm512_fmadd_ps(d, d, s0[k]);
            }
        }
        for (int k = 0; k < 4; k++) out[r + k] = _mm512_reduce_add_ps(_mm512_add_ps(s0[k], s1[k]));
    }
    for (; r < count; r++) out[r] = l2_avx512(q, base + r * n, n);
}

AVX512 static void dot_norm_avx512(const float *a, const float *b, size_t n, float *dot, float *norm) {
    __m512 d0 = _mm512_setzero_ps(), d1 = _mm512_setzero_ps(), m0 = _mm512_setzero_ps(), m1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 x0 = _mm512_loadu_ps(a + i), y0 = _mm512_loadu_ps(b + i);
        __m512 x1 = _mm512_loadu_ps(a + i + 16), y1 = _mm512_loadu_ps(b + i + 16);
        d0 = _mm512_fmadd_ps(x0, y0, d0); m0 = _mm512_fmadd_ps(y0, y0, m0);
        d1 = _mm512_fmadd_ps(x1, y1, d1); m1 = _mm512_fmadd_ps(y1, y1, m1);
    }
    for (; i < n; i += 16) {
        __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(mask, a + i), y = _mm512_maskz_loadu_ps(mask, b + i);
        d0 = _mm512_fmadd_ps(x, y, d0); m0 = _mm512_fmadd_ps(y, y, m0);
    }
    *dot = _mm512_reduce_add_ps(_mm512_add_ps(d0, d1));
    *norm = _mm512_reduce_add_ps(_mm512_add_ps(m0, m1));
}

AVX512 static float l2_f16_avx512(const float *a, const uint16_t *b, size_t n) {
    __m512 s = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 y = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, b + i));
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), y);
        s = _mm512_fmadd_ps(d, d, s);
    }
    return _mm512_reduce_add_ps(s);
}

AVX512 static float l2_f16_f16_avx512(const uint16_t *a, const uint16_t *b, size_t n) {
    __m512 s = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, a + i));
        __m512 y = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, b + i));
        __m512 d = _mm512_sub_ps(x, y);
        s = _mm512_fmadd_ps(d, d, s);
    }
    return _mm512_reduce_add_ps(s);
}

/// Four f16 rows per pass, each summed in exactly `l2_f16_avx512`'s order.
AVX512 static void l2_f16_batch_avx512(const float *q, const uint16_t *base, size_t count, size_t n, float *out) {
    prefetch_rows(base, (count < 16 ? count : 16) * n * 2);
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        if (r + 20 <= count) prefetch_rows(base + (r + 16) * n, 8 * n);
        const uint16_t *b[4] = {base + r * n, base + (r + 1) * n, base + (r + 2) * n, base + (r + 3) * n};
        __m512 s[4];
        for (int k = 0; k < 4; k++) s[k] = _mm512_setzero_ps();
        for (size_t i = 0; i < n; i += 16) {
            __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
            for (int k = 0; k < 4; k++) {
                __m512 d = _mm512_sub_ps(x, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, b[k] + i)));
                s[k] = _mm512_fmadd_ps(d, d, s[k]);
            }
        }
        for (int k = 0; k < 4; k++) out[r + k] = _mm512_reduce_add_ps(s[k]);
    }
    for (; r < count; r++) out[r] = l2_f16_avx512(q, base + r * n, n);
}

AVX512 static float l2_i8s_avx512(const float *q, const int8_t *c, float scale, size_t n) {
    __m512 s = _mm512_setzero_ps(), sc = _mm512_set1_ps(scale);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 y = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, c + i)));
        __m512 d = _mm512_fnmadd_ps(y, sc, _mm512_maskz_loadu_ps(mask, q + i));
        s = _mm512_fmadd_ps(d, d, s);
    }
    return _mm512_reduce_add_ps(s);
}

/// Four scaled int8 rows per pass, each summed in `l2_i8s_avx512`'s order.
AVX512 static void l2_i8s_batch_avx512(const float *q, const int8_t *codes, const float *scales, size_t count, size_t n, float *out) {
    prefetch_rows(codes, (count < 16 ? count : 16) * n);
    size_t r = 0;
    for (; r + 4 <= count; r += 4) {
        if (r + 20 <= count) prefetch_rows(codes + (r + 16) * n, 4 * n);
        const int8_t *c[4] = {codes + r * n, codes + (r + 1) * n, codes + (r + 2) * n, codes + (r + 3) * n};
        __m512 s[4], sc[4];
        for (int k = 0; k < 4; k++) { s[k] = _mm512_setzero_ps(); sc[k] = _mm512_set1_ps(scales[r + k]); }
        for (size_t i = 0; i < n; i += 16) {
            __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
            __m512 x = _mm512_maskz_loadu_ps(mask, q + i);
            for (int k = 0; k < 4; k++) {
                __m512 y = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, c[k] + i)));
                __m512 d = _mm512_fnmadd_ps(y, sc[k], x);
                s[k] = _mm512_fmadd_ps(d, d, s[k]);
            }
        }
        for (int k = 0; k < 4; k++) out[r + k] = _mm512_reduce_add_ps(s[k]);
    }
    for (; r < count; r++) out[r] = l2_i8s_avx512(q, codes + r * n, scales[r], n);
}

AVX512 static void dot_norm_f16_avx512(const float *a, const uint16_t *b, size_t n, float *dot, float *norm) {
    __m512 d = _mm512_setzero_ps(), m = _mm512_setzero_ps();
    size_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 mask = (n - i >= 16) ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 y = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, b + i));
        d = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), y, d);
        m = _mm512_fmadd_ps(y, y, m);
    }
    *dot = _mm512_reduce_add_ps(d);
    *norm = _mm512_reduce_add_ps(m);
}
#endif

// ---------------------------------------------------------------- dispatch

int freshet_isa_supported(freshet_isa isa) {
    switch (isa) {
    case FRESHET_ISA_SCALAR: return 1;
#if FRESHET_X86
    case FRESHET_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case FRESHET_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && freshet_isa_supported(FRESHET_ISA_AVX2);
#endif
    default: return 0;
    }
}

freshet_isa freshet_best_isa(void) {
    static int cached = -1;
    if (cached < 0) {
        cached = freshet_isa_supported(FRESHET_ISA_AVX512) ? FRESHET_ISA_AVX512
               : freshet_isa_supported(FRESHET_ISA_AVX2) ? FRESHET_ISA_AVX2 : FRESHET_ISA_SCALAR;
    }
    return (freshet_isa)cached;
}

// An unsupported request falls back to the best supported level, never to an illegal instruction.
static freshet_isa effective(freshet_isa isa) {
    freshet_isa best = freshet_best_isa();
    return isa > best ? best : isa;
}

float freshet_l2sq_f32(freshet_isa isa, const float *a, const float *b, size_t n) {
    switch (effective(isa)) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: return l2_avx512(a, b, n);
    case FRESHET_ISA_AVX2: return l2_avx2(a, b, n);
#endif
    default: return l2_scalar(a, b, n);
    }
}

void freshet_dot_norm_f32(freshet_isa isa, const float *a, const float *b, size_t n, float *dot, float *norm_b) {
    switch (effective(isa)) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: dot_norm_avx512(a, b, n, dot, norm_b); return;
    case FRESHET_ISA_AVX2: dot_norm_avx2(a, b, n, dot, norm_b); return;
#endif
    default: dot_norm_scalar(a, b, n, dot, norm_b); return;
    }
}

float freshet_dot_f32(freshet_isa isa, const float *a, const float *b, size_t n) {
    float dot, norm;
    freshet_dot_norm_f32(isa, a, b, n, &dot, &norm);
    return dot;
}

float freshet_l2sq_f32_f16(freshet_isa isa, const float *a, const uint16_t *b, size_t n) {
    switch (effective(isa)) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: return l2_f16_avx512(a, b, n);
    case FRESHET_ISA_AVX2: return l2_f16_avx2(a, b, n);
#endif
    default: return l2_f16_scalar(a, b, n);
    }
}

float freshet_l2sq_f16_f16(freshet_isa isa, const uint16_t *a, const uint16_t *b, size_t n) {
    switch (effective(isa)) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: return l2_f16_f16_avx512(a, b, n);
    case FRESHET_ISA_AVX2: return l2_f16_f16_avx2(a, b, n);
#endif
    default: return l2_f16_f16_scalar(a, b, n);
    }
}

void freshet_dot_norm_f32_f16(freshet_isa isa, const float *a, const uint16_t *b, size_t n, float *dot, float *norm_b) {
    switch (effective(isa)) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: dot_norm_f16_avx512(a, b, n, dot, norm_b); return;
    case FRESHET_ISA_AVX2: dot_norm_f16_avx2(a, b, n, dot, norm_b); return;
#endif
    default: dot_norm_f16_scalar(a, b, n, dot, norm_b); return;
    }
}

int64_t freshet_dot_i8(freshet_isa isa, const int8_t *a, const int8_t *b, size_t n) {
#if FRESHET_X86
    if (effective(isa) >= FRESHET_ISA_AVX2) return dot_i8_avx2(a, b, n);
#endif
    return dot_i8_scalar(a, b, n);
}

int64_t freshet_l2sq_i8(freshet_isa isa, const int8_t *a, const int8_t *b, size_t n) {
#if FRESHET_X86
    if (effective(isa) >= FRESHET_ISA_AVX2) return l2_i8_avx2(a, b, n);
#endif
    return l2_i8_scalar(a, b, n);
}

void freshet_l2sq_f32_batch(freshet_isa isa, const float *query, const float *base, size_t count, size_t dim, float *out) {
    freshet_isa level = effective(isa);
    switch (level) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: l2_batch_avx512(query, base, count, dim, out); return;
    case FRESHET_ISA_AVX2: l2_batch_avx2(query, base, count, dim, out); return;
#endif
    default:
        for (size_t r = 0; r < count; r++) out[r] = freshet_l2sq_f32(level, query, base + r * dim, dim);
    }
}

void freshet_l2sq_f32_f16_batch(freshet_isa isa, const float *query, const uint16_t *base, size_t count, size_t dim, float *out) {
    freshet_isa level = effective(isa);
    switch (level) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: l2_f16_batch_avx512(query, base, count, dim, out); return;
    case FRESHET_ISA_AVX2: l2_f16_batch_avx2(query, base, count, dim, out); return;
#endif
    default:
        for (size_t r = 0; r < count; r++) out[r] = l2_f16_scalar(query, base + r * dim, dim);
    }
}

void freshet_l2sq_f32_i8s_batch(freshet_isa isa, const float *query, const int8_t *codes, const float *scales, size_t count, size_t dim, float *out) {
    freshet_isa level = effective(isa);
    switch (level) {
#if FRESHET_X86
    case FRESHET_ISA_AVX512: l2_i8s_batch_avx512(query, codes, scales, count, dim, out); return;
    case FRESHET_ISA_AVX2: l2_i8s_batch_avx2(query, codes, scales, count, dim, out); return;
#endif
    default:
        for (size_t r = 0; r < count; r++) out[r] = l2_i8s_scalar(query, codes + r * dim, scales[r], dim);
    }
}

void freshet_dot_norm_f32_batch(freshet_isa isa, const float *query, const float *base, size_t count, size_t dim, float *dots, float *norms) {
    freshet_isa level = effective(isa);
    for (size_t r = 0; r < count; r++) freshet_dot_norm_f32(level, query, base + r * dim, dim, dots + r, norms + r);
}
