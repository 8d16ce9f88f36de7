/* File system event and poll handles through libuv's API (their checks
   and getpath; one event): the Swift test runs it on libuv and on
   libUVNative.so and compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_fs_event_t event;
static uv_fs_poll_t poller;
static uv_timer_t timer;
static char dir[64], file[96];
static int events;

static void on_event(uv_fs_event_t *handle, const char *name, int kinds, int status) {
    if (events++ == 0)
        printf("event %s status %d rename %d\n", name, status, (kinds & UV_RENAME) != 0);
    (void) handle;
}

static void on_poll(uv_fs_poll_t *handle, int status, const uv_stat_t *prev, const uv_stat_t *curr) {
    (void) handle; (void) status; (void) prev; (void) curr;
}

static void on_timer(uv_timer_t *handle) {
    uv_close((uv_handle_t *) handle, NULL);
    uv_close((uv_handle_t *) &event, NULL);
    uv_close((uv_handle_t *) &poller, NULL);
}

static void create(uv_timer_t *handle) {
    int fd = open(file, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK(0 == uv_timer_start(handle, on_timer, 50, 0));
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    char buf[128];
    size_t size;
    int r;

    snprintf(dir, sizeof dir, "/tmp/uvnative-watch-%d", (int) getpid());
    snprintf(file, sizeof file, "%s/new", dir);
    CHECK(0 == mkdir(dir, 0755));
    CHECK(0 == uv_fs_event_init(loop, &event));
    size = sizeof buf;
    r = uv_fs_event_getpath(&event, buf, &size);
    printf("event getpath unstarted %s size %zu\n", uv_err_name(r), size);
    printf("event start missing %s\n", uv_err_name(uv_fs_event_start(&event, on_event, "/no/such/dir", 0)));
    CHECK(0 == uv_fs_event_start(&event, on_event, dir, 0));
    printf("event start again %s\n", uv_err_name(uv_fs_event_start(&event, on_event, dir, 0)));
    size = 0;
    r = uv_fs_event_getpath(&event, buf, &size);
    printf("event getpath short %s size ok %d\n", uv_err_name(r), size == strlen(dir) + 1);
    r = uv_fs_event_getpath(&event, buf, &size);
    printf("event getpath %d same %d\n", r, strcmp(buf, dir) == 0);

    CHECK(0 == uv_fs_poll_init(loop, &poller));
    size = sizeof buf;
    r = uv_fs_poll_getpath(&poller, buf, &size);
    printf("poll getpath unstarted %s size %zu\n", uv_err_name(r), size);
    CHECK(0 == uv_fs_poll_start(&poller, on_poll, dir, 1000));
    printf("poll start again %d\n", uv_fs_poll_start(&poller, on_poll, dir, 1000));
    size = sizeof buf;
    r = uv_fs_poll_getpath(&poller, buf, &size);
    printf("poll getpath %d same %d\n", r, strcmp(buf, dir) == 0);

    CHECK(0 == uv_timer_init(loop, &timer));
    CHECK(0 == uv_timer_start(&timer, create, 20, 0));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    printf("events seen %d\n", events > 0);
    unlink(file);
    rmdir(dir);
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
