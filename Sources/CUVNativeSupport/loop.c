/* Loop- and handle-level functions that are plain C: uv_loop_configure
   (variadic, so not definable in Swift), the size and accessor functions,
   and the handle listings. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "CUVNativeSupport.h"

/* uv_loop_configure: UV_METRICS_IDLE_TIME, or UV_LOOP_BLOCK_SIGNAL with
   SIGPROF (any other signal is UV_EINVAL); other options UV_ENOSYS. */
int uv_loop_configure(uv_loop_t *loop, uv_loop_option option, ...) {
    va_list ap;
    int signum;
    if (option == UV_METRICS_IDLE_TIME)
        return uvnative__loop_configure_idle_time(loop);
    if (option != UV_LOOP_BLOCK_SIGNAL)
        return UV_ENOSYS;
    va_start(ap, option);
    signum = va_arg(ap, int);
    va_end(ap);
    if (signum != SIGPROF)
        return UV_EINVAL;
    return uvnative__loop_configure_block_sigprof(loop);
}

/* uv_loop_new (deprecated): an allocated, initialised loop, or NULL. */
uv_loop_t *uv_loop_new(void) {
    uv_loop_t *loop = uvnative__malloc(sizeof *loop);
    if (loop == NULL)
        return NULL;
    loop->data = NULL;
    if (uv_loop_init(loop) != 0) {
        uvnative__free(loop);
        return NULL;
    }
    return loop;
}

/* uv_loop_delete (deprecated): closes the loop (it must be closable) and
   frees it unless it is the default loop. */
void uv_loop_delete(uv_loop_t *loop) {
    uv_loop_t *default_loop = uv_default_loop();
    if (uv_loop_close(loop) != 0)
        abort();
    if (loop != default_loop)
        uvnative__free(loop);
}

/* uv_loop_size */
size_t uv_loop_size(void) { return sizeof(uv_loop_t); }

/* uv_loop_get_data */
void *uv_loop_get_data(const uv_loop_t *loop) { return loop->data; }

/* uv_loop_set_data */
void uv_loop_set_data(uv_loop_t *loop, void *data) { loop->data = data; }

/* uv_handle_size: the size of a handle type's struct, (size_t) -1 if unknown. */
size_t uv_handle_size(uv_handle_type type) {
    switch (type) {
#define SIZE_OF(upper, lower) case UV_##upper: return sizeof(uv_##lower##_t);
    UV_HANDLE_TYPE_MAP(SIZE_OF)
#undef SIZE_OF
    default: return (size_t) -1;
    }
}

/* uv_req_size: the size of a request type's struct, (size_t) -1 if unknown. */
size_t uv_req_size(uv_req_type type) {
    switch (type) {
#define SIZE_OF(upper, lower) case UV_##upper: return sizeof(uv_##lower##_t);
    UV_REQ_TYPE_MAP(SIZE_OF)
#undef SIZE_OF
    default: return (size_t) -1;
    }
}

/* uv_handle_type_name: "timer", "tcp", ... (and "file" for UV_FILE); NULL
   for an unknown type. */
const char *uv_handle_type_name(uv_handle_type type) {
    switch (type) {
#define NAME_OF(upper, lower) case UV_##upper: return #lower;
    UV_HANDLE_TYPE_MAP(NAME_OF)
#undef NAME_OF
    case UV_FILE: return "file";
    default: return NULL;
    }
}

/* uv_req_type_name: "write", "connect", ...; NULL for an unknown type. */
const char *uv_req_type_name(uv_req_type type) {
    switch (type) {
#define NAME_OF(upper, lower) case UV_##upper: return #lower;
    UV_REQ_TYPE_MAP(NAME_OF)
#undef NAME_OF
    default: return NULL;
    }
}

/* uv_handle_get_type */
uv_handle_type uv_handle_get_type(const uv_handle_t *handle) { return handle->type; }

/* uv_handle_get_data */
void *uv_handle_get_data(const uv_handle_t *handle) { return handle->data; }

/* uv_handle_set_data */
void uv_handle_set_data(uv_handle_t *handle, void *data) { handle->data = data; }

/* uv_handle_get_loop */
uv_loop_t *uv_handle_get_loop(const uv_handle_t *handle) { return handle->loop; }

/* uv_req_get_data */
void *uv_req_get_data(const uv_req_t *req) { return req->data; }

/* uv_req_set_data */
void uv_req_set_data(uv_req_t *req, void *data) { req->data = data; }

/* uv_req_get_type */
uv_req_type uv_req_get_type(const uv_req_t *req) { return req->type; }

struct print_context {
    FILE *stream;
    int only_active;
};

static void print_one(uv_handle_t *handle, void *arg) {
    struct print_context *context = arg;
    const char *name;
    if (context->only_active && !uv_is_active(handle))
        return;
    name = uv_handle_type_name(handle->type);
    fprintf(context->stream, "[%c%c%c] %-8s %p\n",
            uv_has_ref(handle) ? 'R' : '-',
            uv_is_active(handle) ? 'A' : '-',
            '-',
            name != NULL ? name : "<unknown>",
            (void *) handle);
}

static void print_handles(uv_loop_t *loop, int only_active, FILE *stream) {
    struct print_context context;
    if (loop == NULL)
        loop = uv_default_loop();
    context.stream = stream;
    context.only_active = only_active;
    uv_walk(loop, print_one, &context);
}

/* uv_print_all_handles: one line per handle, "[RAI] type address". */
void uv_print_all_handles(uv_loop_t *loop, FILE *stream) { print_handles(loop, 0, stream); }

/* uv_print_active_handles: as uv_print_all_handles, active handles only. */
void uv_print_active_handles(uv_loop_t *loop, FILE *stream) { print_handles(loop, 1, stream); }
