#ifndef C_SYSTEM_EXTRAS_H
#define C_SYSTEM_EXTRAS_H

#include <stddef.h>
#include <stdint.h>

/// glibc's memmem(3): Swift's Glibc module declares it only under _GNU_SOURCE, which it does not define.
const void *fac_memmem(const void *haystack, size_t haystack_length, const void *needle, size_t needle_length);

/// Linux's sync_file_range(2) with SYNC_FILE_RANGE_WRITE: starts write-back of the range without waiting for it.
/// Returns 0, or -1 with errno set. Elsewhere a no-op that returns 0.
int fac_start_writeback(int fd, int64_t offset, int64_t length);

#endif
