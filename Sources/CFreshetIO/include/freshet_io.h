#ifndef FRESHET_IO_H
#define FRESHET_IO_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// Reads exactly `length` bytes at `offset` of `fd` into `buffer`, retrying short
/// reads and EINTR. With `nowait` set it asks the kernel not to wait for the device
/// (preadv2 with RWF_NOWAIT): data not already in the page cache, or a file system
/// without that support, returns -2 and the caller reads again without it.
/// Returns `length`, the bytes read before end of file (fewer), -2, or -1 with errno.
ssize_t freshet_pread_full(int fd, void *buffer, size_t length, off_t offset, int nowait);

/// Writes exactly `length` bytes at `offset`, retrying short writes and EINTR.
/// Returns 0, or -1 with errno.
int freshet_pwrite_full(int fd, const void *buffer, size_t length, off_t offset);

/// Fixes glibc's mmap threshold at `bytes` (M_MMAP_THRESHOLD), which also stops its
/// dynamic adjustment: after a large block is freed glibc otherwise raises the
/// threshold (up to 32 MiB), later large arrays come from the heap, and the holes they
/// leave keep pages resident. Returns 1 on success (0 where mallopt is unavailable).
int freshet_fix_mmap_threshold(size_t bytes);

#endif
