#define _GNU_SOURCE
#include "freshet_io.h"
#include <errno.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/uio.h>
#include <unistd.h>

ssize_t freshet_pread_full(int fd, void *buffer, size_t length, off_t offset, int nowait) {
    size_t done = 0;
    while (done < length) {
        ssize_t got;
        if (nowait) {
            struct iovec vector = { (char *)buffer + done, length - done };
            got = preadv2(fd, &vector, 1, offset + (off_t)done, RWF_NOWAIT);
            if (got < 0 && (errno == EAGAIN || errno == EOPNOTSUPP || errno == ENOSYS)) return -2;
        } else {
            got = pread(fd, (char *)buffer + done, length - done, offset + (off_t)done);
        }
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) break;
        done += (size_t)got;
    }
    return (ssize_t)done;
}

int freshet_pwrite_full(int fd, const void *buffer, size_t length, off_t offset) {
    size_t done = 0;
    while (done < length) {
        ssize_t put = pwrite(fd, (const char *)buffer + done, length - done, offset + (off_t)done);
        if (put < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)put;
    }
    return 0;
}

int freshet_fix_mmap_threshold(size_t bytes) {
#if defined(__GLIBC__)
    return mallopt(M_MMAP_THRESHOLD, (int)bytes);
#else
    (void)bytes;
    return 0;
#endif
}
