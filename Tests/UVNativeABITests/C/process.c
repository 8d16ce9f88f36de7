/* Processes through libuv's API: a child's stdout through a pipe, its exit
   status, a child killed by a signal, a missing program, and a signal
   handle. The Swift test runs it on libuv and on libUVNative.so and
   compares. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_process_t echo_child, sleeper, missing;
static uv_pipe_t out;
static uv_signal_t usr1;
static char storage[64];
static size_t got;
static char report[4][80];  /* printed after the run: the events' order depends on timing */

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void) handle; (void) suggested;
    buf->base = storage + got;
    buf->len = sizeof storage - got;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    (void) buf;
    if (nread > 0) { got += (size_t) nread; return; }
    if (nread == UV_EOF) {
        snprintf(report[0], sizeof report[0], "child wrote '%.*s'", (int) got, storage);
        uv_close((uv_handle_t *) stream, NULL);
    }
}

static void on_exit_cb(uv_process_t *process, int64_t status, int signal) {
    snprintf(report[process == &echo_child ? 1 : 3], sizeof report[0], "%s exited status %d signal %d",
             process == &echo_child ? "echo" : "sleeper", (int) status, signal);
    uv_close((uv_handle_t *) process, NULL);
    if (process == &echo_child)
        CHECK(0 == uv_kill(getpid(), SIGUSR1));
}

static void on_signal(uv_signal_t *handle, int signum) {
    snprintf(report[2], sizeof report[0], "signal %d signum field %d", signum, handle->signum);
    uv_close((uv_handle_t *) handle, NULL);
    CHECK(0 == uv_process_kill(&sleeper, SIGTERM));
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    uv_process_options_t options;
    uv_stdio_container_t stdio[3];
    char *echo_args[] = {"/bin/sh", "-c", "printf 'hi there'; exit 3", NULL};
    char *sleep_args[] = {"/bin/sleep", "10", NULL};
    char *missing_args[] = {"/no/such/program", NULL};
    sigset_t none;
    int r;

    /* The test process spawns this program from a thread that blocks
       signals; a blocked SIGUSR1 would never arrive. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    CHECK(0 == uv_pipe_init(loop, &out, 0));
    memset(&options, 0, sizeof options);
    options.file = echo_args[0];
    options.args = echo_args;
    options.exit_cb = on_exit_cb;
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *) &out;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    options.stdio = stdio;
    options.stdio_count = 3;
    CHECK(0 == uv_spawn(loop, &echo_child, &options));
    printf("pid set %d readable %d writable %d\n", uv_process_get_pid(&echo_child) > 0, uv_is_readable((uv_stream_t *) &out),
           uv_is_writable((uv_stream_t *) &out));
    CHECK(0 == uv_read_start((uv_stream_t *) &out, on_alloc, on_read));

    options.file = missing_args[0];
    options.args = missing_args;
    options.stdio_count = 0;
    r = uv_spawn(loop, &missing, &options);
    printf("missing %s type %s\n", uv_err_name(r), uv_handle_type_name(missing.type));
    uv_close((uv_handle_t *) &missing, NULL);

    options.file = sleep_args[0];
    options.args = sleep_args;
    CHECK(0 == uv_spawn(loop, &sleeper, &options));
    CHECK(0 == uv_signal_init(loop, &usr1));
    CHECK(0 == uv_signal_start(&usr1, on_signal, SIGUSR1));
    printf("signal started signum %d\n", usr1.signum);
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    for (r = 0; r < 4; r++)
        printf("%s\n", report[r]);
    printf("kill reaped %s\n", uv_err_name(uv_kill(uv_process_get_pid(&sleeper), 0)));
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
