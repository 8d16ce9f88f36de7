#ifndef SWIFTUV_CUVNATIVESUPPORT_H
#define SWIFTUV_CUVNATIVESUPPORT_H

/* The C half of libUVNative: libuv functions Swift cannot define (variadic
   ones) and those that are C through and through (errors, addresses,
   threads, system information). They are defined in this target's .c files
   under libuv's names, with <uv.h>'s declarations; this header declares only
   the Swift functions they call. Nothing here links libuv. */

#include <uv.h>

/* Defined in Swift (UVNativeABI/Loop.swift). */
int uvnative__loop_configure_idle_time(uv_loop_t *loop);
int uvnative__loop_configure_block_sigprof(uv_loop_t *loop);

/* Defined in C for the Swift side (not exported). */
#define UVNATIVE_HIDDEN __attribute__((visibility("hidden")))

/* The allocator uv_replace_allocator sets, for what the caller frees. */
UVNATIVE_HIDDEN void *uvnative__malloc(size_t size);
UVNATIVE_HIDDEN void *uvnative__calloc(size_t count, size_t size);
UVNATIVE_HIDDEN void uvnative__free(void *pointer);

/* Fills buf with len bytes from getrandom(2): 0 or a libuv error. */
UVNATIVE_HIDDEN int uvnative__random_fill(void *buf, size_t len);

/* uv_udp_set_source_membership for an IPv6 group, on a bound socket:
   0 or a libuv error. */
UVNATIVE_HIDDEN int uvnative__udp_source_membership6(int fd, const char *group, const char *interface,
                                                     const char *source, int join);

#endif
