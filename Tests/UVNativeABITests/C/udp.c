/* UDP through libuv's API: datagrams into alloc_cb buffers (a short one
   truncates), the zero-byte callback that ends a burst, connected sends
   and the errors of the checks before a send. The Swift test runs it on
   libuv and on libUVNative.so and compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_udp_t receiver, sender, unused;
static uv_udp_send_t send_req;
static char storage[5];
static int datagrams, empties;

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void) handle;
    CHECK(suggested == 65536);
    buf->base = storage;
    buf->len = sizeof storage;
}

static void on_close(uv_handle_t *handle) { printf("close %s\n", handle == (uv_handle_t *) &receiver ? "receiver" : "sender"); }

static void on_receive(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
    if (nread == 0 && addr == NULL) {
        empties++;
        return;
    }
    CHECK(buf->base == storage);
    datagrams++;
    printf("datagram %zd '%.*s' partial=%d from ipv4=%d\n", nread, (int) nread, buf->base, (flags & UV_UDP_PARTIAL) != 0,
           addr != NULL && addr->sa_family == AF_INET);
    if (datagrams == 2) {
        CHECK(0 == uv_udp_recv_stop(handle));
        uv_close((uv_handle_t *) handle, on_close);
        uv_close((uv_handle_t *) &sender, on_close);
    }
}

static void on_sent(uv_udp_send_t *req, int status) {
    printf("sent %d queue %zu/%zu\n", status, uv_udp_get_send_queue_size(req->handle), uv_udp_get_send_queue_count(req->handle));
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in address, bound;
    int length = sizeof bound;
    uv_buf_t first = uv_buf_init("hi", 2), second = uv_buf_init("truncated", 9);
    int r;

    CHECK(0 == uv_udp_init(loop, &receiver));
    CHECK(0 == uv_udp_init_ex(loop, &sender, AF_INET));
    printf("init_ex bad %s\n", uv_err_name(uv_udp_init_ex(loop, &unused, 99)));
    CHECK(0 == uv_ip4_addr("127.0.0.1", 0, &address));
    printf("bind bad flags %s\n", uv_err_name(uv_udp_bind(&receiver, (struct sockaddr *) &address, 1024)));
    CHECK(0 == uv_udp_bind(&receiver, (struct sockaddr *) &address, 0));
    CHECK(0 == uv_udp_getsockname(&receiver, (struct sockaddr *) &bound, &length));
    printf("recv no callback %s\n", uv_err_name(uv_udp_recv_start(&receiver, on_alloc, NULL)));
    CHECK(0 == uv_udp_recv_start(&receiver, on_alloc, on_receive));
    printf("recv again %s\n", uv_err_name(uv_udp_recv_start(&receiver, on_alloc, on_receive)));

    printf("send no address %s\n", uv_err_name(uv_udp_send(&send_req, &sender, &first, 1, NULL, on_sent)));
    printf("disconnect %s\n", uv_err_name(uv_udp_connect(&sender, NULL)));
    CHECK(0 == uv_udp_connect(&sender, (struct sockaddr *) &bound));
    printf("connect again %s\n", uv_err_name(uv_udp_connect(&sender, (struct sockaddr *) &bound)));
    printf("send with address %s\n", uv_err_name(uv_udp_send(&send_req, &sender, &first, 1, (struct sockaddr *) &bound, on_sent)));
    length = sizeof address;
    printf("peer %d\n", uv_udp_getpeername(&sender, (struct sockaddr *) &address, &length));
    r = uv_udp_try_send(&sender, &first, 1, NULL);
    printf("try_send %d\n", r);
    CHECK(0 == uv_udp_send(&send_req, &sender, &second, 1, NULL, on_sent));
    printf("queued\n");
    printf("ttl bad %s broadcast %d\n", uv_err_name(uv_udp_set_ttl(&sender, 0)), uv_udp_set_broadcast(&sender, 1));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    printf("datagrams %d bursts ended %d\n", datagrams, empties > 0);
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
