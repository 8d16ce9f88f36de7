/* A C program written for libuv 1.44.2, compiled against the system's
   <uv.h> and linked to libUVNative.so (never libuv.so). It prints each
   event as it happens; the Swift test compares the output with what libuv
   gives, line for line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_timer_t once_timer, repeat_timer, late_timer;
static uv_idle_t idle;
static uv_prepare_t prepare;
static uv_check_t check;
static uv_async_t async;
static int repeats, idles, checks, prepares, closes;

static void on_close(uv_handle_t *handle) {
    closes++;
    printf("close %s %s\n", uv_handle_type_name(uv_handle_get_type(handle)), (const char *) handle->data);
}

static void on_once(uv_timer_t *timer) {
    printf("timer once data=%s due_in=%llu\n", (const char *) timer->data,
           (unsigned long long) uv_timer_get_due_in(timer));
}

static void on_repeat(uv_timer_t *timer) {
    repeats++;
    printf("timer repeat %d active=%d\n", repeats, uv_is_active((uv_handle_t *) timer));
    if (repeats == 3) {
        CHECK(0 == uv_timer_stop(timer));
        CHECK(0 == uv_is_active((uv_handle_t *) timer));
    }
}

static void on_idle(uv_idle_t *handle) {
    idles++;
    if (idles == 1) printf("idle first\n");
    if (idles == 3) {
        CHECK(0 == uv_idle_stop(handle));
        printf("idle stopped\n");
    }
}

static void on_prepare(uv_prepare_t *handle) {
    prepares++;
    if (prepares == 1) printf("prepare first\n");
    (void) handle;
}

static void on_check(uv_check_t *handle) {
    checks++;
    if (checks == 1) printf("check first\n");
    (void) handle;
}

static void on_async(uv_async_t *handle) {
    printf("async data=%s\n", (const char *) handle->data);
}

static void *sender(void *arg) {
    (void) arg;
    CHECK(0 == uv_async_send(&async));
    return NULL;
}

static void on_late(uv_timer_t *timer) {
    pthread_t thread;
    printf("timer late\n");
    CHECK(0 == pthread_create(&thread, NULL, sender, NULL));
    CHECK(0 == pthread_join(thread, NULL));
    (void) timer;
}

static void close_walk(uv_handle_t *handle, void *arg) {
    (*(int *) arg)++;
    if (!uv_is_closing(handle)) uv_close(handle, on_close);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    int walked = 0;
    CHECK(loop != NULL);
    CHECK(loop == uv_default_loop());
    loop->data = "mine";

    CHECK(0 == uv_timer_init(loop, &once_timer));
    CHECK(0 == uv_timer_init(loop, &repeat_timer));
    CHECK(0 == uv_timer_init(loop, &late_timer));
    CHECK(0 == uv_idle_init(loop, &idle));
    CHECK(0 == uv_prepare_init(loop, &prepare));
    CHECK(0 == uv_check_init(loop, &check));
    CHECK(0 == uv_async_init(loop, &async, on_async));
    once_timer.data = "once"; repeat_timer.data = "repeat"; late_timer.data = "late";
    idle.data = "idle"; prepare.data = "prepare"; check.data = "check"; async.data = "async";

    CHECK(once_timer.loop == loop);
    CHECK(once_timer.type == UV_TIMER);
    CHECK(UV_EINVAL == uv_timer_start(&once_timer, NULL, 1, 0));
    CHECK(UV_EINVAL == uv_timer_again(&once_timer));
    CHECK(0 == uv_timer_start(&once_timer, on_once, 80, 0));
    CHECK(0 == uv_timer_start(&repeat_timer, on_repeat, 30, 2));
    CHECK(2 == uv_timer_get_repeat(&repeat_timer));
    CHECK(0 == uv_timer_start(&late_timer, on_late, 120, 0));
    CHECK(UV_EINVAL == uv_idle_start(&idle, NULL));
    CHECK(0 == uv_idle_start(&idle, on_idle));
    CHECK(0 == uv_prepare_start(&prepare, on_prepare));
    CHECK(0 == uv_check_start(&check, on_check));
    uv_unref((uv_handle_t *) &prepare);
    uv_unref((uv_handle_t *) &check);
    uv_unref((uv_handle_t *) &async);
    CHECK(0 == uv_has_ref((uv_handle_t *) &async));
    CHECK(uv_loop_alive(loop));

    printf("run %d\n", uv_run(loop, UV_RUN_DEFAULT));
    printf("repeats=%d idles=%d\n", repeats, idles);
    CHECK(prepares > 0 && checks > 0);
    CHECK(0 == strcmp(loop->data, "mine"));

    CHECK(UV_EBUSY == uv_loop_close(loop));
    uv_walk(loop, close_walk, &walked);
    printf("walked %d\n", walked);
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    printf("closes=%d\n", closes);
    CHECK(uv_is_closing((uv_handle_t *) &idle));
    CHECK(0 == uv_loop_close(loop));
    CHECK(uv_default_loop() != NULL);
    CHECK(0 == uv_loop_close(uv_default_loop()));
    printf("done\n");
    return 0;
}
