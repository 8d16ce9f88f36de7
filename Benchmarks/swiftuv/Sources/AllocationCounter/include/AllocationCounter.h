#ifndef ALLOCATION_COUNTER_H
#define ALLOCATION_COUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, aligned allocations) made by
/// any thread of this process since it started: this target defines the
/// allocator's entry points, which take precedence over the C library's for
/// every library of the process, counts each call, and forwards it to glibc.
uint64_t allocation_count(void);

#endif
