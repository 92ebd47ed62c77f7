#ifndef FRESHET_CHECKSUM_H
#define FRESHET_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli) of `length` bytes, continuing from `crc` (0 to start).
/// Uses the SSE4.2 crc32 instruction when the CPU has it, else a table.
uint32_t freshet_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable table implementation (tests compare the two).
uint32_t freshet_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `freshet_crc32c` runs on the hardware instruction.
int freshet_crc32c_hardware(void);

#endif
