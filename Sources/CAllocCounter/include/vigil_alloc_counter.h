#ifndef VIGIL_ALLOC_COUNTER_H
#define VIGIL_ALLOC_COUNTER_H
#include <stdint.h>

/// Heap allocations (malloc, calloc, realloc, memalign family) made by the calling thread since
/// it started. Counting works by interposing malloc & co. in the executable that links this
/// target, forwarding to glibc's __libc_* functions; it costs one thread-local increment.
uint64_t vigil_thread_allocations(void);
/// Whether the interposer is active in this process (it is when this target is linked).
int vigil_alloc_counter_active(void);
#endif
