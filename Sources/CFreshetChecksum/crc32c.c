// CRC-32C for the object frame: every stored object is verified on every read, so
// the checksum must run at memory speed. x86-64 has a crc32 instruction (SSE4.2)
// that processes 8 bytes per instruction; elsewhere a byte table is used.
#include "freshet_checksum.h"
#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static int table_ready = 0;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int bit = 0; bit < 8; bit++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        table[i] = crc;
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t freshet_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_table();
    const uint8_t *bytes = data;
    crc = ~crc;
    for (size_t i = 0; i < length; i++) crc = table[(crc ^ bytes[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles and a throughput of 1, so one
// dependent chain runs at a third of its speed. Long inputs run three chains over
// adjacent blocks and join them: a chain's CRC is carried past the next block by the
// linear "append this many zero bytes" operator, applied through four byte tables.
enum { SHORT_BLOCK = 256, LONG_BLOCK = 8192 };
static uint32_t shift_short[4][256], shift_long[4][256];
static pthread_once_t shifts_once = PTHREAD_ONCE_INIT;

// Product of a 32x32 GF(2) matrix (column `i` is the image of bit `i`) with `vector`.
static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    for (int i = 0; vector; i++, vector >>= 1) if (vector & 1) sum ^= matrix[i];
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int i = 0; i < 32; i++) square[i] = gf2_times(matrix, matrix[i]);
}

// Tables for the operator that appends `bytes` zero bytes (a power of two) to a CRC.
static void build_shift(uint32_t tables[4][256], size_t bytes) {
    uint32_t op[32], next[32];
    op[0] = 0x82F63B78u;  // one zero bit: multiply by x modulo the reflected polynomial
    for (int i = 1; i < 32; i++) op[i] = 1u << (i - 1);
    for (size_t bits = 1; bits < bytes * 8; bits *= 2) {
        gf2_square(next, op);
        memcpy(op, next, sizeof(op));
    }
    for (uint32_t n = 0; n < 256; n++) {
        tables[0][n] = gf2_times(op, n);
        tables[1][n] = gf2_times(op, n << 8);
        tables[2][n] = gf2_times(op, n << 16);
        tables[3][n] = gf2_times(op, n << 24);
    }
}

static void build_shifts(void) {
    build_shift(shift_short, SHORT_BLOCK);
    build_shift(shift_long, LONG_BLOCK);
}

static uint32_t shift(uint32_t tables[4][256], uint32_t crc) {
    return tables[0][crc & 0xFF] ^ tables[1][(crc >> 8) & 0xFF] ^ tables[2][(crc >> 16) & 0xFF] ^ tables[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static const uint8_t *three_chains(uint64_t *crc, const uint8_t *bytes, size_t *length, size_t block, uint32_t tables[4][256]) {
    while (*length >= 3 * block) {
        uint64_t first = *crc, second = 0, third = 0;
        for (size_t at = 0; at < block; at += 8) {
            uint64_t a, b, c;
            memcpy(&a, bytes + at, 8);
            memcpy(&b, bytes + block + at, 8);
            memcpy(&c, bytes + 2 * block + at, 8);
            first = __builtin_ia32_crc32di(first, a);
            second = __builtin_ia32_crc32di(second, b);
            third = __builtin_ia32_crc32di(third, c);
        }
        uint32_t joined = shift(tables, (uint32_t)first) ^ (uint32_t)second;
        *crc = shift(tables, joined) ^ (uint32_t)third;
        bytes += 3 * block;
        *length -= 3 * block;
    }
    return bytes;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *bytes = data;
    uint64_t state = ~crc;
    if (length >= 3 * SHORT_BLOCK) {
        pthread_once(&shifts_once, build_shifts);
        bytes = three_chains(&state, bytes, &length, LONG_BLOCK, shift_long);
        bytes = three_chains(&state, bytes, &length, SHORT_BLOCK, shift_short);
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        state = __builtin_ia32_crc32di(state, word);
        bytes += 8;
        length -= 8;
    }
    uint32_t small = (uint32_t)state;
    while (length > 0) {
        small = __builtin_ia32_crc32qi(small, *bytes);
        bytes++;
        length--;
    }
    return ~small;
}
#endif

int freshet_crc32c_hardware(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
#else
    return 0;
#endif
}

uint32_t freshet_crc32c(uint32_t crc, const void *data, size_t length) {
#if defined(__x86_64__)
    static int hardware = -1;
    int known = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (known < 0) {
        known = freshet_crc32c_hardware();
        __atomic_store_n(&hardware, known, __ATOMIC_RELAXED);
    }
    if (known) return crc32c_sse42(crc, data, length);
#endif
    return freshet_crc32c_portable(crc, data, length);
}
