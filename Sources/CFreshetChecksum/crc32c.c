// CRC-32C for the object frame: every stored object is verified on every read, so
// the checksum must run at memory speed. x86-64 has a crc32 instruction (SSE4.2)
// that processes 8 bytes per instruction; elsewhere a byte table is used.
#include "freshet_checksum.h"
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
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *bytes = data;
    uint64_t state = ~crc;
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
