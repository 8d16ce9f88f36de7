/*
 * uvbench: the C contender of the SwiftUV benchmark suite.
 *
 * Plain C against the system libuv (1.44.2): the limit a binding can reach.
 * Implements every workload of ../WORKLOADS.md, one per invocation:
 *
 *     uvbench WORKLOAD [--quick]
 *
 * and prints "RESULT <workload> <metric> <value>" lines on stdout.
 *
 * Build:  gcc -O2 -o /tmp/uvbench Benchmarks/c/uvbench.c -luv -lpthread
 */

#include <uv.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Common helpers                                                            */
/* ------------------------------------------------------------------------ */

static uv_loop_t* loop;
static int quick;
static const char* workload;

static void die_uv(const char* what, int err) {
  fprintf(stderr, "uvbench: %s: %s failed: %s (%s)\n",
          workload ? workload : "?", what, uv_strerror(err), uv_err_name(err));
  fflush(stderr);
  abort();
}

static void die_msg(const char* msg) {
  fprintf(stderr, "uvbench: %s: %s\n", workload ? workload : "?", msg);
  fflush(stderr);
  abort();
}

/* Every libuv call that can fail goes through CHECK; the message names it. */
#define CHECK(call)                                                           \
  do {                                                                        \
    int check_r_ = (call);                                                    \
    if (check_r_ < 0) die_uv(#call, check_r_);                                \
  } while (0)

/* A status handed to a callback. */
#define CHECK_STATUS(status, what)                                            \
  do {                                                                        \
    if ((status) < 0) die_uv(what, (int) (status));                           \
  } while (0)

#define ENSURE(cond)                                                          \
  do {                                                                        \
    if (!(cond)) die_msg("assertion failed: " #cond);                         \
  } while (0)

#define container_of(ptr, type, member)                                       \
  ((type*) ((char*) (ptr) - offsetof(type, member)))

static void run_loop(void) {
  int r = uv_run(loop, UV_RUN_DEFAULT);
  if (r != 0) die_msg("uv_run returned with live handles or requests");
}

static void result(const char* metric, double value, int decimals) {
  printf("RESULT %s %s %.*f\n", workload, metric, decimals, value);
}

static double seconds(uint64_t t0, uint64_t t1) {
  return (double) (t1 - t0) / 1e9;
}

/* One read buffer for everything that reads on the loop thread. */
static char slab[64 * 1024];

static void slab_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf) {
  (void) handle;
  (void) suggested;
  buf->base = slab;
  buf->len = sizeof(slab);
}

static void noop_close_cb(uv_handle_t* handle) { (void) handle; }

static void free_close_cb(uv_handle_t* handle) { free(handle); }

/* A duration-bounded workload: a one-shot timer marks the end of the measured
 * interval, sets `stopped` and calls the workload's hook, which snapshots its
 * counter and starts tearing down; the run then finishes what is in flight. */
static uv_timer_t dur_timer;
static int stopped;
static uint64_t t_start;
static uint64_t t_stop;
static void (*dur_hook)(void);

static void dur_timer_cb(uv_timer_t* timer) {
  t_stop = uv_hrtime();
  stopped = 1;
  uv_close((uv_handle_t*) timer, noop_close_cb);
  if (dur_hook != NULL) dur_hook();
}

static uint64_t duration_ms(void) { return quick ? 1000 : 5000; }

/* Starts the clock and the stop timer; call right before run_loop(). */
static void dur_begin(void (*hook)(void)) {
  dur_hook = hook;
  stopped = 0;
  CHECK(uv_timer_init(loop, &dur_timer));
  uv_update_time(loop);
  CHECK(uv_timer_start(&dur_timer, dur_timer_cb, duration_ms(), 0));
  t_start = uv_hrtime();
}

static double dur_elapsed(void) { return seconds(t_start, t_stop); }

static struct sockaddr_in tcp_listen_local(uv_tcp_t* server,
                                           uv_connection_cb cb) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound);

  CHECK(uv_ip4_addr("127.0.0.1", 0, &addr));
  CHECK(uv_tcp_init(loop, server));
  CHECK(uv_tcp_bind(server, (const struct sockaddr*) &addr, 0));
  CHECK(uv_listen((uv_stream_t*) server, 1024, cb));
  CHECK(uv_tcp_getsockname(server, (struct sockaddr*) &bound, &len));
  ENSURE(bound.ss_family == AF_INET);
  memcpy(&addr, &bound, sizeof(addr));
  return addr;
}

static struct sockaddr_in udp_bind_local(uv_udp_t* udp) {
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = sizeof(bound);

  CHECK(uv_ip4_addr("127.0.0.1", 0, &addr));
  CHECK(uv_udp_init(loop, udp));
  CHECK(uv_udp_bind(udp, (const struct sockaddr*) &addr, 0));
  CHECK(uv_udp_getsockname(udp, (struct sockaddr*) &bound, &len));
  ENSURE(bound.ss_family == AF_INET);
  memcpy(&addr, &bound, sizeof(addr));
  return addr;
}

/* ------------------------------------------------------------------------ */
/* loop_count                                                                */
/* ------------------------------------------------------------------------ */

static uv_idle_t lc_idle;
static uint64_t lc_ticks;
static uint64_t lc_target;

static void lc_idle_cb(uv_idle_t* handle) {
  if (++lc_ticks == lc_target) CHECK(uv_idle_stop(handle));
}

static void bench_loop_count(void) {
  uint64_t t0, t1;

  lc_target = quick ? 500000 : 2000000;
  CHECK(uv_idle_init(loop, &lc_idle));
  CHECK(uv_idle_start(&lc_idle, lc_idle_cb));

  t0 = uv_hrtime();
  run_loop();
  t1 = uv_hrtime();

  ENSURE(lc_ticks == lc_target);
  uv_close((uv_handle_t*) &lc_idle, noop_close_cb);
  run_loop();

  result("rate", (double) lc_target / seconds(t0, t1), 1);
}

/* ------------------------------------------------------------------------ */
/* million_timers                                                            */
/* ------------------------------------------------------------------------ */

static long mt_fired;
static long mt_closed;

static void mt_timer_cb(uv_timer_t* timer) {
  (void) timer;
  mt_fired++;
}

static void mt_close_cb(uv_handle_t* handle) {
  (void) handle;
  mt_closed++;
}

static long resident_bytes(void) {
  long size, resident;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == NULL) die_msg("cannot open /proc/self/statm");
  if (fscanf(f, "%ld %ld", &size, &resident) != 2)
    die_msg("cannot parse /proc/self/statm");
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

static void bench_million_timers(void) {
  long n = quick ? 200000 : 1000000;
  long per_ms = n / 1000;
  uv_timer_t* timers;
  long rss_before, rss_after;
  uint64_t t_init, t_started, t_run, t_dispatched, t_done;
  long i;

  rss_before = resident_bytes();

  t_init = uv_hrtime();
  timers = malloc(sizeof(*timers) * (size_t) n);
  if (timers == NULL) die_msg("out of memory for timers");
  uv_update_time(loop);
  for (i = 0; i < n; i++) {
    CHECK(uv_timer_init(loop, &timers[i]));
    CHECK(uv_timer_start(&timers[i], mt_timer_cb,
                         (uint64_t) (1 + i / per_ms), 0));
  }
  t_started = uv_hrtime();

  rss_after = resident_bytes(); /* outside the timed phases */

  t_run = uv_hrtime();
  run_loop();
  t_dispatched = uv_hrtime();
  ENSURE(mt_fired == n);

  for (i = 0; i < n; i++) uv_close((uv_handle_t*) &timers[i], mt_close_cb);
  run_loop();
  t_done = uv_hrtime();
  ENSURE(mt_closed == n);
  free(timers);

  result("init_s", seconds(t_init, t_started), 6);
  result("dispatch_s", seconds(t_run, t_dispatched), 6);
  result("cleanup_s", seconds(t_dispatched, t_done), 6);
  result("total_s", seconds(t_init, t_started) + seconds(t_run, t_done), 6);
  result("bytes_per_timer", (double) (rss_after - rss_before) / (double) n, 1);
}

/* ------------------------------------------------------------------------ */
/* async_pummel_1                                                            */
/* ------------------------------------------------------------------------ */

static uv_async_t ap_async;
static atomic_int ap_stop;
static long ap_callbacks;
static long ap_target;

static void ap_sender(void* arg) {
  (void) arg;
  while (!atomic_load_explicit(&ap_stop, memory_order_relaxed))
    CHECK(uv_async_send(&ap_async));
}

static void ap_async_cb(uv_async_t* handle) {
  if (++ap_callbacks == ap_target) {
    atomic_store_explicit(&ap_stop, 1, memory_order_relaxed);
    uv_close((uv_handle_t*) handle, noop_close_cb);
  }
}

static void bench_async_pummel_1(void) {
  uv_thread_t thread;
  uint64_t t0, t1;

  ap_target = quick ? 200000 : 1000000;
  CHECK(uv_async_init(loop, &ap_async, ap_async_cb));

  t0 = uv_hrtime();
  CHECK(uv_thread_create(&thread, ap_sender, NULL));
  run_loop();
  t1 = uv_hrtime();
  CHECK(uv_thread_join(&thread));

  ENSURE(ap_callbacks == ap_target);
  result("rate", (double) ap_target / seconds(t0, t1), 1);
}

/* ------------------------------------------------------------------------ */
/* async1                                                                    */
/* ------------------------------------------------------------------------ */

static uv_loop_t a1_worker_loop;
static uv_async_t a1_to_main;   /* lives on the main loop */
static uv_async_t a1_to_worker; /* lives on the worker loop */
static long a1_target;
static long a1_main_seen;
static long a1_worker_seen;

static void a1_worker_cb(uv_async_t* handle) {
  CHECK(uv_async_send(&a1_to_main));
  if (++a1_worker_seen == a1_target)
    uv_close((uv_handle_t*) handle, noop_close_cb);
}

static void a1_main_cb(uv_async_t* handle) {
  if (++a1_main_seen == a1_target)
    uv_close((uv_handle_t*) handle, noop_close_cb);
  else
    CHECK(uv_async_send(&a1_to_worker));
}

static void a1_worker(void* arg) {
  (void) arg;
  if (uv_run(&a1_worker_loop, UV_RUN_DEFAULT) != 0)
    die_msg("worker uv_run returned with live handles");
}

static void bench_async1(void) {
  uv_thread_t thread;
  uint64_t t0, t1;

  a1_target = quick ? 10000 : 50000;
  CHECK(uv_loop_init(&a1_worker_loop));
  CHECK(uv_async_init(&a1_worker_loop, &a1_to_worker, a1_worker_cb));
  CHECK(uv_async_init(loop, &a1_to_main, a1_main_cb));

  t0 = uv_hrtime();
  CHECK(uv_thread_create(&thread, a1_worker, NULL));
  CHECK(uv_async_send(&a1_to_worker));
  run_loop();
  t1 = uv_hrtime();
  CHECK(uv_thread_join(&thread));
  CHECK(uv_loop_close(&a1_worker_loop));

  ENSURE(a1_main_seen == a1_target);
  ENSURE(a1_worker_seen == a1_target);
  result("rate", (double) a1_target / seconds(t0, t1), 1);
}

/* ------------------------------------------------------------------------ */
/* queue_work                                                                */
/* ------------------------------------------------------------------------ */

static uv_work_t qw_req;
static uint64_t qw_done;
static uint64_t qw_snapshot;

static void qw_work_cb(uv_work_t* req) { (void) req; }

static void qw_after_cb(uv_work_t* req, int status) {
  CHECK_STATUS(status, "queue_work after-work callback");
  qw_done++;
  if (!stopped) CHECK(uv_queue_work(loop, req, qw_work_cb, qw_after_cb));
}

static void qw_stop(void) { qw_snapshot = qw_done; }

static void bench_queue_work(void) {
  CHECK(uv_queue_work(loop, &qw_req, qw_work_cb, qw_after_cb));
  dur_begin(qw_stop);
  run_loop();
  result("rate", (double) qw_snapshot / dur_elapsed(), 1);
}

/* ------------------------------------------------------------------------ */
/* fs_stat                                                                   */
/* ------------------------------------------------------------------------ */

static uv_fs_t fs_reqs[16];
static long fs_started;
static long fs_completed;
static long fs_target;

static void fs_stat_cb(uv_fs_t* req) {
  CHECK_STATUS(req->result, "uv_fs_stat callback");
  uv_fs_req_cleanup(req);
  fs_completed++;
  if (fs_started < fs_target) {
    fs_started++;
    CHECK(uv_fs_stat(loop, req, ".", fs_stat_cb));
  }
}

static double fs_async(long m, int concurrency) {
  uint64_t t0, t1;
  int i;

  fs_started = 0;
  fs_completed = 0;
  fs_target = m;

  t0 = uv_hrtime();
  for (i = 0; i < concurrency && fs_started < m; i++) {
    fs_started++;
    CHECK(uv_fs_stat(loop, &fs_reqs[i], ".", fs_stat_cb));
  }
  run_loop();
  t1 = uv_hrtime();

  ENSURE(fs_completed == m);
  return (double) m / seconds(t0, t1);
}

static void bench_fs_stat(void) {
  long n = quick ? 200000 : 1000000;
  long m = quick ? 20000 : 100000;
  static const int concurrency[] = {1, 4, 8, 16};
  static const char* const metric[] = {
      "async1_rate", "async4_rate", "async8_rate", "async16_rate"};
  double rates[4];
  uv_fs_t req;
  uint64_t t0, t1;
  long i;
  int c;

  t0 = uv_hrtime();
  for (i = 0; i < n; i++) {
    CHECK(uv_fs_stat(loop, &req, ".", NULL));
    uv_fs_req_cleanup(&req);
  }
  t1 = uv_hrtime();

  for (c = 0; c < 4; c++) rates[c] = fs_async(m, concurrency[c]);

  result("sync_rate", (double) n / seconds(t0, t1), 1);
  for (c = 0; c < 4; c++) result(metric[c], rates[c], 1);
}

/* ------------------------------------------------------------------------ */
/* getaddrinfo                                                               */
/* ------------------------------------------------------------------------ */

#define GAI_CONCURRENCY 10

static uv_getaddrinfo_t gai_reqs[GAI_CONCURRENCY];
static long gai_started;
static long gai_completed;
static long gai_target;

static void gai_cb(uv_getaddrinfo_t* req, int status, struct addrinfo* res) {
  CHECK_STATUS(status, "uv_getaddrinfo callback");
  uv_freeaddrinfo(res);
  gai_completed++;
  if (gai_started < gai_target) {
    gai_started++;
    CHECK(uv_getaddrinfo(loop, req, gai_cb, "localhost", NULL, NULL));
  }
}

static void bench_getaddrinfo(void) {
  uint64_t t0, t1;
  int i;

  gai_target = quick ? 2000 : 10000;

  t0 = uv_hrtime();
  for (i = 0; i < GAI_CONCURRENCY && gai_started < gai_target; i++) {
    gai_started++;
    CHECK(uv_getaddrinfo(loop, &gai_reqs[i], gai_cb, "localhost", NULL, NULL));
  }
  run_loop();
  t1 = uv_hrtime();

  ENSURE(gai_completed == gai_target);
  result("rate", (double) gai_target / seconds(t0, t1), 1);
}

/* ------------------------------------------------------------------------ */
/* spawn                                                                     */
/* ------------------------------------------------------------------------ */

static uv_process_t sp_process;
static uv_pipe_t sp_out;
static uv_process_options_t sp_options;
static uv_stdio_container_t sp_stdio[3];
static char* sp_args[] = {"sh", "-c", "echo hello; exit 42", NULL};
static long sp_target;
static long sp_done;
static int sp_closed;
static size_t sp_bytes;

static void sp_start(void);

static void sp_close_cb(uv_handle_t* handle) {
  (void) handle;
  /* Both the pipe (after EOF) and the process (after exit) are closed. */
  if (++sp_closed < 2) return;
  sp_done++;
  if (sp_done < sp_target) sp_start();
}

static void sp_exit_cb(uv_process_t* process, int64_t exit_status,
                       int term_signal) {
  ENSURE(exit_status == 42);
  ENSURE(term_signal == 0);
  uv_close((uv_handle_t*) process, sp_close_cb);
}

static void sp_read_cb(uv_stream_t* stream, ssize_t nread,
                       const uv_buf_t* buf) {
  (void) buf;
  if (nread > 0) {
    sp_bytes += (size_t) nread;
  } else if (nread == UV_EOF) {
    ENSURE(sp_bytes == 6); /* "hello\n" */
    uv_close((uv_handle_t*) stream, sp_close_cb);
  } else if (nread < 0) {
    die_uv("child stdout read", (int) nread);
  }
}

static void sp_start(void) {
  sp_closed = 0;
  sp_bytes = 0;
  CHECK(uv_pipe_init(loop, &sp_out, 0));
  CHECK(uv_spawn(loop, &sp_process, &sp_options));
  CHECK(uv_read_start((uv_stream_t*) &sp_out, slab_alloc, sp_read_cb));
}

static void bench_spawn(void) {
  uint64_t t0, t1;

  sp_target = quick ? 200 : 1000;

  sp_stdio[0].flags = UV_IGNORE;
  sp_stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  sp_stdio[1].data.stream = (uv_stream_t*) &sp_out;
  sp_stdio[2].flags = UV_IGNORE;
  sp_options.file = "/bin/sh";
  sp_options.args = sp_args;
  sp_options.exit_cb = sp_exit_cb;
  sp_options.stdio = sp_stdio;
  sp_options.stdio_count = 3;

  t0 = uv_hrtime();
  sp_start();
  run_loop();
  t1 = uv_hrtime();

  ENSURE(sp_done == sp_target);
  result("rate", (double) sp_target / seconds(t0, t1), 1);
}

/* ------------------------------------------------------------------------ */
/* ping_pongs                                                                */
/* ------------------------------------------------------------------------ */

static const char PING[] = "PING\n";
#define PING_LEN (sizeof(PING) - 1)

static uv_tcp_t pp_server;
static uv_tcp_t pp_peer;
static uv_tcp_t pp_client;
static uv_connect_t pp_connect_req;
static uv_write_t pp_ping_req;
static unsigned pp_state;
static uint64_t pp_pongs;
static uint64_t pp_snapshot;

typedef struct {
  uv_write_t req;
  uv_buf_t buf;
  char data[];
} echo_write_t;

static void pp_echo_write_cb(uv_write_t* req, int status) {
  echo_write_t* w = container_of(req, echo_write_t, req);
  if (status != UV_ECANCELED) CHECK_STATUS(status, "echo write callback");
  free(w);
}

static void pp_peer_read_cb(uv_stream_t* stream, ssize_t nread,
                            const uv_buf_t* buf) {
  echo_write_t* w;

  if (nread > 0) {
    w = malloc(sizeof(*w) + (size_t) nread);
    if (w == NULL) die_msg("out of memory for an echo write");
    memcpy(w->data, buf->base, (size_t) nread);
    w->buf = uv_buf_init(w->data, (unsigned) nread);
    CHECK(uv_write(&w->req, stream, &w->buf, 1, pp_echo_write_cb));
  } else if (nread == UV_EOF) {
    uv_close((uv_handle_t*) stream, noop_close_cb);
  } else if (nread < 0) {
    die_uv("server read", (int) nread);
  }
}

static void pp_connection_cb(uv_stream_t* server, int status) {
  CHECK_STATUS(status, "connection callback");
  CHECK(uv_tcp_init(loop, &pp_peer));
  CHECK(uv_accept(server, (uv_stream_t*) &pp_peer));
  CHECK(uv_read_start((uv_stream_t*) &pp_peer, slab_alloc, pp_peer_read_cb));
  uv_close((uv_handle_t*) server, noop_close_cb); /* one connection only */
}

static void pp_ping_write_cb(uv_write_t* req, int status) {
  (void) req;
  if (status != UV_ECANCELED) CHECK_STATUS(status, "ping write callback");
}

static void pp_send_ping(void) {
  uv_buf_t buf = uv_buf_init((char*) PING, PING_LEN);
  CHECK(uv_write(&pp_ping_req, (uv_stream_t*) &pp_client, &buf, 1,
                 pp_ping_write_cb));
}

static void pp_client_read_cb(uv_stream_t* stream, ssize_t nread,
                              const uv_buf_t* buf) {
  ssize_t i;

  if (nread < 0) die_uv("client read", (int) nread);
  for (i = 0; i < nread; i++) {
    ENSURE(buf->base[i] == PING[pp_state]);
    if (++pp_state == PING_LEN) {
      pp_state = 0;
      pp_pongs++;
      if (stopped)
        uv_close((uv_handle_t*) stream, noop_close_cb);
      else
        pp_send_ping();
    }
  }
}

static void pp_connect_cb(uv_connect_t* req, int status) {
  CHECK_STATUS(status, "connect callback");
  CHECK(uv_read_start(req->handle, slab_alloc, pp_client_read_cb));
  pp_send_ping();
}

static void pp_stop(void) { pp_snapshot = pp_pongs; }

static void bench_ping_pongs(void) {
  struct sockaddr_in addr = tcp_listen_local(&pp_server, pp_connection_cb);

  CHECK(uv_tcp_init(loop, &pp_client));
  CHECK(uv_tcp_nodelay(&pp_client, 1));
  CHECK(uv_tcp_connect(&pp_connect_req, &pp_client,
                       (const struct sockaddr*) &addr, pp_connect_cb));
  dur_begin(pp_stop);
  run_loop();
  result("rate", (double) pp_snapshot / dur_elapsed(), 1);
}

/* ------------------------------------------------------------------------ */
/* tcp_pump1 / pipe_pump1                                                    */
/* ------------------------------------------------------------------------ */

#define PUMP_WRITE_SIZE 8192

static union { uv_tcp_t tcp; uv_pipe_t pipe; } pu_server, pu_peer, pu_client;
static int pu_is_pipe;
static uv_connect_t pu_connect_req;
static uv_write_t pu_write_req;
static char pu_data[PUMP_WRITE_SIZE];
static uint64_t pu_bytes;
static uint64_t pu_snapshot;

static void pu_peer_read_cb(uv_stream_t* stream, ssize_t nread,
                            const uv_buf_t* buf) {
  (void) buf;
  if (nread > 0) {
    pu_bytes += (uint64_t) nread;
  } else if (nread == UV_EOF) {
    uv_close((uv_handle_t*) stream, noop_close_cb);
  } else if (nread < 0) {
    die_uv("server read", (int) nread);
  }
}

static void pu_connection_cb(uv_stream_t* server, int status) {
  uv_stream_t* peer = (uv_stream_t*) &pu_peer;

  CHECK_STATUS(status, "connection callback");
  if (pu_is_pipe)
    CHECK(uv_pipe_init(loop, &pu_peer.pipe, 0));
  else
    CHECK(uv_tcp_init(loop, &pu_peer.tcp));
  CHECK(uv_accept(server, peer));
  CHECK(uv_read_start(peer, slab_alloc, pu_peer_read_cb));
  uv_close((uv_handle_t*) server, noop_close_cb); /* one connection only */
}

static void pu_write(uv_stream_t* stream);

static void pu_write_cb(uv_write_t* req, int status) {
  CHECK_STATUS(status, "pump write callback");
  if (stopped)
    uv_close((uv_handle_t*) req->handle, noop_close_cb);
  else
    pu_write(req->handle);
}

static void pu_write(uv_stream_t* stream) {
  uv_buf_t buf = uv_buf_init(pu_data, sizeof(pu_data));
  CHECK(uv_write(&pu_write_req, stream, &buf, 1, pu_write_cb));
}

static void pu_connect_cb(uv_connect_t* req, int status) {
  CHECK_STATUS(status, "connect callback");
  pu_write(req->handle);
}

static void pu_stop(void) { pu_snapshot = pu_bytes; }

static void bench_pump(int use_pipe) {
  char path[64];

  pu_is_pipe = use_pipe;
  memset(pu_data, 'x', sizeof(pu_data));

  if (use_pipe) {
    snprintf(path, sizeof(path), "/tmp/uvbench-%ld.sock", (long) getpid());
    unlink(path);
    CHECK(uv_pipe_init(loop, &pu_server.pipe, 0));
    CHECK(uv_pipe_bind(&pu_server.pipe, path));
    CHECK(uv_listen((uv_stream_t*) &pu_server, 1024, pu_connection_cb));
    CHECK(uv_pipe_init(loop, &pu_client.pipe, 0));
    uv_pipe_connect(&pu_connect_req, &pu_client.pipe, path, pu_connect_cb);
  } else {
    struct sockaddr_in addr = tcp_listen_local(&pu_server.tcp,
                                               pu_connection_cb);
    CHECK(uv_tcp_init(loop, &pu_client.tcp));
    CHECK(uv_tcp_connect(&pu_connect_req, &pu_client.tcp,
                         (const struct sockaddr*) &addr, pu_connect_cb));
  }

  dur_begin(pu_stop);
  run_loop();
  if (use_pipe) unlink(path);

  result("gbit_s", (double) pu_snapshot * 8.0 / dur_elapsed() / 1e9, 3);
}

/* ------------------------------------------------------------------------ */
/* tcp_write_batch                                                           */
/* ------------------------------------------------------------------------ */

static const char WB_DATA[] = "Hello, world.";

static uv_tcp_t wb_server;
static uv_tcp_t wb_peer;
static uv_tcp_t wb_client;
static uv_connect_t wb_connect_req;
static uv_shutdown_t wb_shutdown_req;
static uv_write_t* wb_reqs;
static long wb_target;
static long wb_written;
static int wb_shutdown_done;
static uint64_t wb_t0;
static uint64_t wb_t1;

static void wb_peer_read_cb(uv_stream_t* stream, ssize_t nread,
                            const uv_buf_t* buf) {
  (void) buf;
  if (nread == UV_EOF)
    uv_close((uv_handle_t*) stream, noop_close_cb);
  else if (nread < 0)
    die_uv("server read", (int) nread);
}

static void wb_connection_cb(uv_stream_t* server, int status) {
  CHECK_STATUS(status, "connection callback");
  CHECK(uv_tcp_init(loop, &wb_peer));
  CHECK(uv_accept(server, (uv_stream_t*) &wb_peer));
  CHECK(uv_read_start((uv_stream_t*) &wb_peer, slab_alloc, wb_peer_read_cb));
  uv_close((uv_handle_t*) server, noop_close_cb);
}

static void wb_write_cb(uv_write_t* req, int status) {
  (void) req;
  CHECK_STATUS(status, "batch write callback");
  wb_written++;
}

static void wb_shutdown_cb(uv_shutdown_t* req, int status) {
  wb_t1 = uv_hrtime();
  CHECK_STATUS(status, "shutdown callback");
  ENSURE(req->handle->write_queue_size == 0);
  wb_shutdown_done = 1;
  uv_close((uv_handle_t*) req->handle, noop_close_cb);
}

static void wb_connect_cb(uv_connect_t* req, int status) {
  uv_buf_t buf = uv_buf_init((char*) WB_DATA, sizeof(WB_DATA) - 1);
  long i;

  CHECK_STATUS(status, "connect callback");
  wb_t0 = uv_hrtime();
  for (i = 0; i < wb_target; i++)
    CHECK(uv_write(&wb_reqs[i], req->handle, &buf, 1, wb_write_cb));
  CHECK(uv_shutdown(&wb_shutdown_req, req->handle, wb_shutdown_cb));
}

static void bench_tcp_write_batch(void) {
  struct sockaddr_in addr;

  wb_target = quick ? 200000 : 1000000;
  wb_reqs = malloc(sizeof(*wb_reqs) * (size_t) wb_target);
  if (wb_reqs == NULL) die_msg("out of memory for write requests");

  addr = tcp_listen_local(&wb_server, wb_connection_cb);
  CHECK(uv_tcp_init(loop, &wb_client));
  CHECK(uv_tcp_connect(&wb_connect_req, &wb_client,
                       (const struct sockaddr*) &addr, wb_connect_cb));
  run_loop();
  free(wb_reqs);

  ENSURE(wb_shutdown_done);
  ENSURE(wb_written == wb_target);
  result("total_s", seconds(wb_t0, wb_t1), 6);
}

/* ------------------------------------------------------------------------ */
/* tcp4_pound_100                                                            */
/* ------------------------------------------------------------------------ */

#define POUND_CLIENTS 100

typedef struct {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
} pound_client_t;

static pound_client_t po_clients[POUND_CLIENTS];
static uv_tcp_t po_server;
static struct sockaddr_in po_addr;
static uint64_t po_accepted;
static uint64_t po_snapshot;
static int po_clients_done;

/* Errors a client can see when the server closes on it or has gone away. */
static int po_expected_error(int err) {
  return err == UV_ECONNREFUSED || err == UV_ECONNRESET || err == UV_EPIPE ||
         err == UV_ECANCELED;
}

static void po_server_read_cb(uv_stream_t* stream, ssize_t nread,
                              const uv_buf_t* buf) {
  (void) buf;
  if (nread != 0) uv_close((uv_handle_t*) stream, free_close_cb);
}

static void po_connection_cb(uv_stream_t* server, int status) {
  uv_tcp_t* conn;

  CHECK_STATUS(status, "connection callback");
  conn = malloc(sizeof(*conn));
  if (conn == NULL) die_msg("out of memory for a connection");
  CHECK(uv_tcp_init(loop, conn));
  CHECK(uv_accept(server, (uv_stream_t*) conn));
  po_accepted++;
  CHECK(uv_read_start((uv_stream_t*) conn, slab_alloc, po_server_read_cb));
}

static void po_connect(pound_client_t* c);

static void po_client_close_cb(uv_handle_t* handle) {
  pound_client_t* c = container_of(handle, pound_client_t, tcp);
  if (stopped)
    po_clients_done++;
  else
    po_connect(c);
}

static void po_client_read_cb(uv_stream_t* stream, ssize_t nread,
                              const uv_buf_t* buf) {
  (void) buf;
  if (nread < 0) {
    if (nread != UV_EOF && !po_expected_error((int) nread))
      die_uv("client read", (int) nread);
    uv_close((uv_handle_t*) stream, po_client_close_cb);
  }
}

static void po_write_cb(uv_write_t* req, int status) {
  (void) req;
  if (status < 0 && !po_expected_error(status))
    die_uv("client write callback", status);
}

static void po_connect_cb(uv_connect_t* req, int status) {
  pound_client_t* c = container_of(req, pound_client_t, connect_req);
  uv_buf_t buf = uv_buf_init("QS", 2);

  if (status < 0) {
    if (!po_expected_error(status)) die_uv("connect callback", status);
    uv_close((uv_handle_t*) &c->tcp, po_client_close_cb);
    return;
  }
  CHECK(uv_write(&c->write_req, (uv_stream_t*) &c->tcp, &buf, 1, po_write_cb));
  CHECK(uv_read_start((uv_stream_t*) &c->tcp, slab_alloc, po_client_read_cb));
}

static void po_connect(pound_client_t* c) {
  CHECK(uv_tcp_init(loop, &c->tcp));
  CHECK(uv_tcp_connect(&c->connect_req, &c->tcp,
                       (const struct sockaddr*) &po_addr, po_connect_cb));
}

static void po_stop(void) {
  po_snapshot = po_accepted;
  uv_close((uv_handle_t*) &po_server, noop_close_cb);
}

static void bench_tcp4_pound_100(void) {
  int i;

  po_addr = tcp_listen_local(&po_server, po_connection_cb);
  for (i = 0; i < POUND_CLIENTS; i++) po_connect(&po_clients[i]);
  dur_begin(po_stop);
  run_loop();

  ENSURE(po_clients_done == POUND_CLIENTS);
  result("rate", (double) po_snapshot / dur_elapsed(), 1);
}

/* ------------------------------------------------------------------------ */
/* udp_pummel_1v1                                                            */
/* ------------------------------------------------------------------------ */

#define UDP_PAYLOAD 45

static char udp_data[UDP_PAYLOAD];
static uv_udp_t um_receiver;
static uv_udp_t um_sender;
static uv_udp_send_t um_send_req;
static struct sockaddr_in um_addr;
static uint64_t um_received;
static uint64_t um_snapshot;

static void um_recv_cb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                       const struct sockaddr* addr, unsigned flags) {
  (void) handle;
  (void) buf;
  (void) flags;
  if (nread < 0) die_uv("receiver recv", (int) nread);
  if (nread == 0 && addr == NULL) return; /* nothing more to read */
  ENSURE(nread == UDP_PAYLOAD);
  um_received++;
}

static void um_send(void);

static void um_send_cb(uv_udp_send_t* req, int status) {
  if (status == UV_ECANCELED) return;
  CHECK_STATUS(status, "udp send callback");
  if (stopped)
    uv_close((uv_handle_t*) req->handle, noop_close_cb);
  else
    um_send();
}

static void um_send(void) {
  uv_buf_t buf = uv_buf_init(udp_data, sizeof(udp_data));
  CHECK(uv_udp_send(&um_send_req, &um_sender, &buf, 1,
                    (const struct sockaddr*) &um_addr, um_send_cb));
}

static void um_stop(void) {
  um_snapshot = um_received;
  uv_close((uv_handle_t*) &um_receiver, noop_close_cb);
}

static void bench_udp_pummel_1v1(void) {
  memset(udp_data, 'u', sizeof(udp_data));
  um_addr = udp_bind_local(&um_receiver);
  CHECK(uv_udp_recv_start(&um_receiver, slab_alloc, um_recv_cb));
  CHECK(uv_udp_init(loop, &um_sender));
  um_send();
  dur_begin(um_stop);
  run_loop();
  result("rate", (double) um_snapshot / dur_elapsed(), 1);
}

/* ------------------------------------------------------------------------ */
/* ping_udp1                                                                 */
/* ------------------------------------------------------------------------ */

static uv_udp_t pu1_udp;
static struct sockaddr_in pu1_addr;
static uint64_t pu1_pongs;
static uint64_t pu1_snapshot;

static void pu1_ping(void) {
  uv_buf_t buf = uv_buf_init(udp_data, sizeof(udp_data));
  int r = uv_udp_try_send(&pu1_udp, &buf, 1,
                          (const struct sockaddr*) &pu1_addr);
  if (r < 0) die_uv("uv_udp_try_send", r);
  ENSURE(r == UDP_PAYLOAD);
}

static void pu1_recv_cb(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf,
                        const struct sockaddr* addr, unsigned flags) {
  (void) buf;
  (void) flags;
  if (nread < 0) die_uv("udp recv", (int) nread);
  if (nread == 0 && addr == NULL) return;
  ENSURE(nread == UDP_PAYLOAD);
  (void) handle;
  pu1_pongs++;
  pu1_ping();
}

static void pu1_stop(void) {
  pu1_snapshot = pu1_pongs;
  uv_close((uv_handle_t*) &pu1_udp, noop_close_cb);
}

static void bench_ping_udp1(void) {
  memset(udp_data, 'p', sizeof(udp_data));
  pu1_addr = udp_bind_local(&pu1_udp);
  CHECK(uv_udp_recv_start(&pu1_udp, slab_alloc, pu1_recv_cb));
  pu1_ping();
  dur_begin(pu1_stop);
  run_loop();
  result("rate", (double) pu1_snapshot / dur_elapsed(), 1);
}

/* ------------------------------------------------------------------------ */
/* read_file                                                                 */
/* ------------------------------------------------------------------------ */

/* A whole file the way a careful libuv program reads it: open, fstat for the
 * size, one read of that size into a buffer of that size, close; each step a
 * request on the pool, the next started from the previous one's callback. */
static uv_fs_t rf_req;
static const char* rf_path;
static char* rf_buffer;
static size_t rf_size;
static long rf_done;
static long rf_target;
static uv_file rf_fd;

static void rf_open_cb(uv_fs_t* req);

static void rf_next(void) {
  CHECK(uv_fs_open(loop, &rf_req, rf_path, O_RDONLY, 0, rf_open_cb));
}

static void rf_close_cb(uv_fs_t* req) {
  CHECK_STATUS(req->result, "uv_fs_close callback");
  uv_fs_req_cleanup(req);
  free(rf_buffer);
  rf_buffer = NULL;
  if (++rf_done < rf_target) rf_next();
}

static void rf_read_cb(uv_fs_t* req) {
  CHECK_STATUS(req->result, "uv_fs_read callback");
  ENSURE((size_t) req->result == rf_size);
  uv_fs_req_cleanup(req);
  CHECK(uv_fs_close(loop, &rf_req, rf_fd, rf_close_cb));
}

static void rf_stat_cb(uv_fs_t* req) {
  uv_buf_t buf;
  CHECK_STATUS(req->result, "uv_fs_fstat callback");
  rf_size = (size_t) req->statbuf.st_size;
  uv_fs_req_cleanup(req);
  rf_buffer = malloc(rf_size ? rf_size : 1);
  ENSURE(rf_buffer != NULL);
  buf = uv_buf_init(rf_buffer, (unsigned int) rf_size);
  CHECK(uv_fs_read(loop, &rf_req, rf_fd, &buf, 1, 0, rf_read_cb));
}

static void rf_open_cb(uv_fs_t* req) {
  CHECK_STATUS(req->result, "uv_fs_open callback");
  rf_fd = (uv_file) req->result;
  uv_fs_req_cleanup(req);
  CHECK(uv_fs_fstat(loop, &rf_req, rf_fd, rf_stat_cb));
}

static double rf_rate(const char* path, long n) {
  uint64_t t0, t1;
  rf_path = path;
  rf_done = 0;
  rf_target = n;
  t0 = uv_hrtime();
  rf_next();
  run_loop();
  t1 = uv_hrtime();
  ENSURE(rf_done == n);
  return (double) n / seconds(t0, t1);
}

/* The two files: 4 KiB and 1 MiB in the working directory's temporary
 * folder, removed at the end. */
static void rf_make(const char* path, size_t size) {
  FILE* f = fopen(path, "wb");
  size_t i;
  ENSURE(f != NULL);
  for (i = 0; i < size; i++) fputc((int) (i * 31 & 0xff), f);
  ENSURE(fclose(f) == 0);
}

static void bench_read_file(void) {
  char small[64], large[64];
  double rate_small, rate_large;
  snprintf(small, sizeof small, "/tmp/uvbench-read-4k-%d", (int) getpid());
  snprintf(large, sizeof large, "/tmp/uvbench-read-1m-%d", (int) getpid());
  rf_make(small, 4096);
  rf_make(large, 1 << 20);
  rate_small = rf_rate(small, quick ? 5000 : 20000);
  rate_large = rf_rate(large, quick ? 100 : 500);
  unlink(small);
  unlink(large);
  result("rate_4k", rate_small, 1);
  result("rate_1m", rate_large, 1);
}

/* ------------------------------------------------------------------------ */
/* tail_latency                                                              */
/* ------------------------------------------------------------------------ */

/* ping_pongs' round trip, timed one by one, on a loop that also watches
 * TL_IDLE idle connections (both ends of each) and runs a 1 ms repeating
 * timer; the percentiles of the recorded round trips are the figures. */
#define TL_IDLE 1000
#define TL_WARMUP 1000

static uv_tcp_t tl_server;
static uv_tcp_t tl_idle_clients[TL_IDLE];
static uv_connect_t tl_idle_connects[TL_IDLE];
static uv_tcp_t tl_idle_peers[TL_IDLE];
static uv_tcp_t tl_peer;
static uv_tcp_t tl_client;
static uv_connect_t tl_connect_req;
static uv_write_t tl_ping_req;
static uv_timer_t tl_timer;
static struct sockaddr_in tl_addr;
static int tl_connected;    /* idle clients whose connect completed */
static int tl_accepted;     /* connections accepted, the ping client's last */
static uint64_t tl_fires;   /* the timer's callbacks */
static unsigned tl_state;   /* bytes of the current pong read so far */
static long tl_trips;       /* round trips completed, warm-up included */
static long tl_target;      /* N: round trips recorded after the warm-up */
static uint64_t* tl_samples;
static uint64_t tl_t0;

/* Every descriptor the workload holds at once (2 per connection, the
 * listener, the loop's own) has to fit under RLIMIT_NOFILE. */
static void tl_raise_fd_limit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) die_msg("getrlimit(RLIMIT_NOFILE) failed");
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) die_msg("setrlimit(RLIMIT_NOFILE) failed");
  }
  if (limit.rlim_cur < 2100) {
    char msg[128];
    snprintf(msg, sizeof msg, "needs 2100 file descriptors, RLIMIT_NOFILE allows %llu",
             (unsigned long long) limit.rlim_cur);
    die_msg(msg);
  }
}

static void tl_idle_read_cb(uv_stream_t* stream, ssize_t nread,
                            const uv_buf_t* buf) {
  (void) stream;
  (void) buf;
  if (nread < 0) die_uv("idle connection read", (int) nread);
  if (nread > 0) die_msg("an idle connection sent data");
}

static void tl_timer_cb(uv_timer_t* timer) {
  (void) timer;
  tl_fires++;
}

static void tl_ping_write_cb(uv_write_t* req, int status) {
  (void) req;
  if (status != UV_ECANCELED) CHECK_STATUS(status, "ping write callback");
}

static void tl_send_ping(void) {
  uv_buf_t buf = uv_buf_init((char*) PING, PING_LEN);
  tl_t0 = uv_hrtime();
  CHECK(uv_write(&tl_ping_req, (uv_stream_t*) &tl_client, &buf, 1,
                 tl_ping_write_cb));
}

static void tl_finish(void) {
  int i;
  CHECK(uv_timer_stop(&tl_timer));
  uv_close((uv_handle_t*) &tl_timer, noop_close_cb);
  for (i = 0; i < TL_IDLE; i++) {
    uv_close((uv_handle_t*) &tl_idle_clients[i], noop_close_cb);
    uv_close((uv_handle_t*) &tl_idle_peers[i], noop_close_cb);
  }
  uv_close((uv_handle_t*) &tl_client, noop_close_cb);
  uv_close((uv_handle_t*) &tl_peer, noop_close_cb);
  uv_close((uv_handle_t*) &tl_server, noop_close_cb);
}

static void tl_client_read_cb(uv_stream_t* stream, ssize_t nread,
                              const uv_buf_t* buf) {
  ssize_t i;
  uint64_t t1;

  (void) stream;
  if (nread < 0) die_uv("client read", (int) nread);
  if (nread == 0) return;
  t1 = uv_hrtime();
  for (i = 0; i < nread; i++) {
    ENSURE(buf->base[i] == PING[tl_state]);
    if (++tl_state < PING_LEN) continue;
    tl_state = 0;
    ENSURE(i == nread - 1); /* one ping in flight: nothing after its pong */
    if (tl_trips >= TL_WARMUP) tl_samples[tl_trips - TL_WARMUP] = t1 - tl_t0;
    if (++tl_trips == TL_WARMUP + tl_target)
      tl_finish();
    else
      tl_send_ping();
  }
}

static void tl_connect_cb(uv_connect_t* req, int status) {
  CHECK_STATUS(status, "ping client connect callback");
  CHECK(uv_read_start(req->handle, slab_alloc, tl_client_read_cb));
  tl_send_ping();
}

/* The measured part: the timer, and the ping client. */
static void tl_begin(void) {
  CHECK(uv_timer_init(loop, &tl_timer));
  CHECK(uv_timer_start(&tl_timer, tl_timer_cb, 1, 1));
  CHECK(uv_tcp_init(loop, &tl_client));
  CHECK(uv_tcp_nodelay(&tl_client, 1));
  CHECK(uv_tcp_connect(&tl_connect_req, &tl_client,
                       (const struct sockaddr*) &tl_addr, tl_connect_cb));
}

static void tl_idle_connect_cb(uv_connect_t* req, int status) {
  (void) req;
  CHECK_STATUS(status, "idle client connect callback");
  if (++tl_connected == TL_IDLE && tl_accepted == TL_IDLE) tl_begin();
}

static void tl_connection_cb(uv_stream_t* server, int status) {
  uv_tcp_t* conn;

  CHECK_STATUS(status, "connection callback");
  if (tl_accepted < TL_IDLE) {
    conn = &tl_idle_peers[tl_accepted];
    CHECK(uv_tcp_init(loop, conn));
    CHECK(uv_accept(server, (uv_stream_t*) conn));
    CHECK(uv_read_start((uv_stream_t*) conn, slab_alloc, tl_idle_read_cb));
    if (++tl_accepted == TL_IDLE && tl_connected == TL_IDLE) tl_begin();
  } else {
    ENSURE(tl_accepted == TL_IDLE); /* the ping client, the last one */
    tl_accepted++;
    CHECK(uv_tcp_init(loop, &tl_peer));
    CHECK(uv_accept(server, (uv_stream_t*) &tl_peer));
    CHECK(uv_read_start((uv_stream_t*) &tl_peer, slab_alloc, pp_peer_read_cb));
  }
}

static int tl_compare(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*) a, y = *(const uint64_t*) b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the sorted sample at index ceil(p*N)-1, p = num/den. */
static double tl_percentile_us(long num, long den) {
  long rank = (num * tl_target + den - 1) / den;
  return (double) tl_samples[rank - 1] / 1000.0;
}

static void bench_tail_latency(void) {
  int i;

  tl_raise_fd_limit();
  tl_target = quick ? 50000 : 200000;
  tl_samples = malloc((size_t) tl_target * sizeof(*tl_samples));
  if (tl_samples == NULL) die_msg("out of memory for the samples");
  /* Its pages touched now, not while measuring. */
  memset(tl_samples, 0, (size_t) tl_target * sizeof(*tl_samples));

  tl_addr = tcp_listen_local(&tl_server, tl_connection_cb);
  for (i = 0; i < TL_IDLE; i++) {
    CHECK(uv_tcp_init(loop, &tl_idle_clients[i]));
    CHECK(uv_tcp_connect(&tl_idle_connects[i], &tl_idle_clients[i],
                         (const struct sockaddr*) &tl_addr,
                         tl_idle_connect_cb));
  }
  run_loop();

  ENSURE(tl_trips == TL_WARMUP + tl_target);
  qsort(tl_samples, (size_t) tl_target, sizeof(*tl_samples), tl_compare);
  result("p99_us", tl_percentile_us(99, 100), 3);
  result("p50_us", tl_percentile_us(1, 2), 3);
  result("p999_us", tl_percentile_us(999, 1000), 3);
  result("max_us", (double) tl_samples[tl_target - 1] / 1000.0, 3);
  result("timer_fires", (double) tl_fires, 0);
  free(tl_samples);
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */
/* ------------------------------------------------------------------------ */

static void bench_tcp_pump1(void) { bench_pump(0); }
static void bench_pipe_pump1(void) { bench_pump(1); }

static const struct {
  const char* name;
  void (*run)(void);
} workloads[] = {
    {"loop_count", bench_loop_count},
    {"million_timers", bench_million_timers},
    {"async_pummel_1", bench_async_pummel_1},
    {"async1", bench_async1},
    {"queue_work", bench_queue_work},
    {"fs_stat", bench_fs_stat},
    {"read_file", bench_read_file},
    {"getaddrinfo", bench_getaddrinfo},
    {"spawn", bench_spawn},
    {"ping_pongs", bench_ping_pongs},
    {"tcp_pump1", bench_tcp_pump1},
    {"pipe_pump1", bench_pipe_pump1},
    {"tcp_write_batch", bench_tcp_write_batch},
    {"tcp4_pound_100", bench_tcp4_pound_100},
    {"udp_pummel_1v1", bench_udp_pummel_1v1},
    {"ping_udp1", bench_ping_udp1},
    {"tail_latency", bench_tail_latency},
};

#define NUM_WORKLOADS (sizeof(workloads) / sizeof(workloads[0]))

static int usage(const char* msg, const char* arg) {
  size_t i;
  fprintf(stderr, "uvbench: %s%s%s\nusage: uvbench WORKLOAD [--quick]\n"
                  "workloads:",
          msg, arg ? ": " : "", arg ? arg : "");
  for (i = 0; i < NUM_WORKLOADS; i++) fprintf(stderr, " %s", workloads[i].name);
  fprintf(stderr, "\n");
  return 2;
}

int main(int argc, char** argv) {
  const char* name = NULL;
  size_t i;
  int a;

  for (a = 1; a < argc; a++) {
    if (strcmp(argv[a], "--quick") == 0)
      quick = 1;
    else if (argv[a][0] == '-')
      return usage("unknown option", argv[a]);
    else if (name == NULL)
      name = argv[a];
    else
      return usage("more than one workload given", argv[a]);
  }
  if (name == NULL) return usage("no workload given", NULL);

  for (i = 0; i < NUM_WORKLOADS; i++)
    if (strcmp(workloads[i].name, name) == 0) break;
  if (i == NUM_WORKLOADS) return usage("unknown workload", name);

  workload = workloads[i].name;
  loop = uv_default_loop();
  if (loop == NULL) die_msg("uv_default_loop failed");

  workloads[i].run();

  CHECK(uv_loop_close(loop)); /* every handle and request is gone */
  fflush(stdout);
  return 0;
}
