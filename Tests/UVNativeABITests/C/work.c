/* The thread pool through libuv's API: uv_queue_work, uv_cancel and
   uv_random. The Swift test runs it on libuv and on libUVNative.so and
   compares the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

#define BLOCKERS 4  /* one per pool thread (UV_THREADPOOL_SIZE=4 by default) */

static uv_sem_t release_blockers, blockers_started;
static uv_work_t blockers[BLOCKERS], queued, plain;
static uv_random_t random_request;
static char random_bytes[64];
static int work_ran, queued_work_ran, blockers_done;

static void block(uv_work_t *req) {
    (void) req;
    uv_sem_post(&blockers_started);
    uv_sem_wait(&release_blockers);
}

static void blocker_done(uv_work_t *req, int status) {
    (void) req;
    CHECK(status == 0);
    blockers_done++;  /* (the pool finishes them in any order) */
}

static void queued_work(uv_work_t *req) { (void) req; queued_work_ran = 1; }

static void queued_done(uv_work_t *req, int status) {
    (void) req;
    printf("queued done %s ran=%d\n", uv_err_name(status), queued_work_ran);
}

static void plain_work(uv_work_t *req) {
    CHECK(req->data == (void *) &plain);
    work_ran++;
}

static void plain_done(uv_work_t *req, int status) {
    printf("plain done %d ran=%d loop=%d type=%s\n", status, work_ran, req->loop == uv_default_loop(),
           uv_req_type_name(uv_req_get_type((uv_req_t *) req)));
    printf("cancel after done %s\n", uv_err_name(uv_cancel((uv_req_t *) req)));
}

static void random_done(uv_random_t *req, int status, void *buf, size_t buflen) {
    (void) req;
    printf("random done %d %d %zu\n", status, buf == random_bytes, buflen);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    int i;

    printf("einval %s\n", uv_err_name(uv_queue_work(loop, &plain, NULL, plain_done)));
    plain.data = &plain;
    CHECK(0 == uv_queue_work(loop, &plain, plain_work, plain_done));
    printf("alive %d\n", uv_loop_alive(loop));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));

    CHECK(0 == uv_sem_init(&release_blockers, 0));
    CHECK(0 == uv_sem_init(&blockers_started, 0));
    for (i = 0; i < BLOCKERS; i++)
        CHECK(0 == uv_queue_work(loop, &blockers[i], block, blocker_done));
    for (i = 0; i < BLOCKERS; i++)
        uv_sem_wait(&blockers_started);
    CHECK(0 == uv_queue_work(loop, &queued, queued_work, queued_done));
    printf("cancel queued %d\n", uv_cancel((uv_req_t *) &queued));
    printf("cancel running %s\n", uv_err_name(uv_cancel((uv_req_t *) &blockers[0])));
    for (i = 0; i < BLOCKERS; i++)
        uv_sem_post(&release_blockers);
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    printf("blockers done %d\n", blockers_done);

    CHECK(0 == uv_random(loop, &random_request, random_bytes, sizeof random_bytes, 0, random_done));
    printf("random flags %s big %s\n", uv_err_name(uv_random(NULL, NULL, random_bytes, 1, 1, NULL)),
           uv_err_name(uv_random(NULL, NULL, random_bytes, (size_t) 1 << 32, 0, NULL)));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    CHECK(0 == uv_random(NULL, NULL, random_bytes, sizeof random_bytes, 0, NULL));

    uv_sem_destroy(&release_blockers);
    uv_sem_destroy(&blockers_started);
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
