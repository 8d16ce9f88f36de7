#ifndef SWIFTUV_CUV_SHIM_H
#define SWIFTUV_CUV_SHIM_H

#include <uv.h>

/* uv_loop_configure is variadic, which Swift cannot call; these fix its options. */
static inline int swiftuv_loop_configure_idle_time(uv_loop_t *loop) {
    return uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
}

static inline int swiftuv_loop_configure_block_signal(uv_loop_t *loop, int signum) {
    return uv_loop_configure(loop, UV_LOOP_BLOCK_SIGNAL, signum);
}

/* uv_async_send's own first test, as an atomic load: non-zero while a
 * wake-up is pending, when a send would return at once. */
static inline int swiftuv_async_is_pending(const uv_async_t *handle) {
    return __atomic_load_n(&handle->pending, __ATOMIC_RELAXED);
}

#endif
