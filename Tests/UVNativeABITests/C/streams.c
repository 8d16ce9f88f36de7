/* TCP and pipe streams through libuv's API in one loop: a server echoes
   what a client writes, with small read buffers from alloc_cb, then the
   client shuts down and both close. The Swift test runs it on libuv and on
   libUVNative.so and compares the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

struct peer {
    uv_stream_t *stream;
    char storage[7];  /* small on purpose: one message takes several reads */
    size_t received;
    int eof;
};

static const char *kind;
static uv_tcp_t tcp_server, tcp_client, tcp_accepted;
static uv_pipe_t pipe_server, pipe_client, pipe_accepted;
static uv_stream_t *server, *client, *accepted;
static struct peer client_peer, server_peer;
static uv_connect_t connect_req;
static uv_write_t write_req, echo_req[16];
static uv_shutdown_t shutdown_req;
static int echo_count, closes;
static char echo_data[16][8];
static const char message[] = "hello, native loop";

static void on_close(uv_handle_t *handle) {
    (void) handle;
    closes++;
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    struct peer *peer = handle->data;
    CHECK(suggested == 65536);
    buf->base = peer->storage;
    buf->len = sizeof peer->storage;
}

static void on_echoed(uv_write_t *req, int status) {
    (void) req;
    CHECK(status == 0);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    printf("%s shutdown %d writable=%d\n", kind, status, uv_is_writable(req->handle));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    struct peer *peer = stream->data;
    if (nread == UV_EOF) {
        printf("%s %s eof buf=%d\n", kind, peer == &server_peer ? "server" : "client", buf->base == peer->storage);
        peer->eof = 1;
        uv_close((uv_handle_t *) stream, on_close);
        if (peer == &client_peer) uv_close((uv_handle_t *) server, on_close);
        return;
    }
    CHECK(nread >= 0);
    if (nread == 0) return;
    CHECK(buf->base == peer->storage && buf->len == sizeof peer->storage);
    peer->received += (size_t) nread;
    if (peer == &server_peer) {
        uv_buf_t echo;
        CHECK(echo_count < 16);
        memcpy(echo_data[echo_count], buf->base, (size_t) nread);
        echo = uv_buf_init(echo_data[echo_count], (unsigned int) nread);
        CHECK(0 == uv_write(&echo_req[echo_count], stream, &echo, 1, on_echoed));
        echo_count++;
    } else if (peer->received == strlen(message)) {
        printf("%s client got the echo\n", kind);
        CHECK(0 == uv_shutdown(&shutdown_req, stream, on_shutdown));
        printf("%s shutdown again %s\n", kind, uv_err_name(uv_shutdown(&shutdown_req, stream, on_shutdown)));
    }
}

static void on_written(uv_write_t *req, int status) {
    printf("%s write %d queue=%zu\n", kind, status, uv_stream_get_write_queue_size(req->handle));
}

static void on_connect(uv_connect_t *req, int status) {
    uv_buf_t buf = uv_buf_init((char *) message, (unsigned int) strlen(message));
    printf("%s connect %d readable=%d writable=%d\n", kind, status, uv_is_readable(req->handle), uv_is_writable(req->handle));
    CHECK(0 == uv_write(&write_req, req->handle, &buf, 1, on_written));
    CHECK(0 == uv_read_start(req->handle, on_alloc, on_read));
    printf("%s read_start again %s\n", kind, uv_err_name(uv_read_start(req->handle, on_alloc, on_read)));
}

static void on_connection(uv_stream_t *listener, int status) {
    printf("%s connection %d\n", kind, status);
    CHECK(0 == uv_accept(listener, accepted));
    printf("%s accept again %s\n", kind, uv_err_name(uv_accept(listener, accepted)));
    accepted->data = &server_peer;
    CHECK(0 == uv_read_start(accepted, on_alloc, on_read));
}

static void run(void) {
    uv_loop_t *loop = uv_default_loop();
    client->data = &client_peer;
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    printf("%s closes=%d received=%zu/%zu eof=%d/%d\n", kind, closes, client_peer.received, server_peer.received,
           client_peer.eof, server_peer.eof);
    memset(&client_peer, 0, sizeof client_peer);
    memset(&server_peer, 0, sizeof server_peer);
    closes = 0;
    echo_count = 0;
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    struct sockaddr_in address;
    struct sockaddr_in bound;
    int length = sizeof bound;
    char path[64];
    char name[128];
    size_t size = sizeof name;

    signal(SIGPIPE, SIG_IGN);  /* as libuv's test runner */
    setvbuf(stdout, NULL, _IONBF, 0);
    kind = "tcp";
    server = (uv_stream_t *) &tcp_server; client = (uv_stream_t *) &tcp_client; accepted = (uv_stream_t *) &tcp_accepted;
    CHECK(0 == uv_tcp_init(loop, &tcp_server));
    CHECK(0 == uv_tcp_init(loop, &tcp_client));
    CHECK(0 == uv_tcp_init(loop, &tcp_accepted));
    CHECK(0 == uv_ip4_addr("127.0.0.1", 0, &address));
    CHECK(0 == uv_tcp_bind(&tcp_server, (struct sockaddr *) &address, 0));
    printf("tcp bind ipv6only %s\n", uv_err_name(uv_tcp_bind(&tcp_client, (struct sockaddr *) &address, UV_TCP_IPV6ONLY)));
    CHECK(0 == uv_tcp_getsockname(&tcp_server, (struct sockaddr *) &bound, &length));
    printf("tcp nodelay %d keepalive %d\n", uv_tcp_nodelay(&tcp_client, 1), uv_tcp_keepalive(&tcp_client, 1, 60));
    printf("tcp read unconnected %s\n", uv_err_name(uv_read_start((uv_stream_t *) &tcp_client, on_alloc, on_read)));
    printf("tcp listen %d\n", uv_listen(server, 16, on_connection));
    CHECK(0 == uv_tcp_connect(&connect_req, &tcp_client, (struct sockaddr *) &bound, on_connect));
    printf("tcp connect again %s\n", uv_err_name(uv_tcp_connect(&connect_req, &tcp_client, (struct sockaddr *) &bound, on_connect)));
    run();

    kind = "pipe";
    snprintf(path, sizeof path, "/tmp/uvnative-streams-%d.sock", (int) getpid());
    server = (uv_stream_t *) &pipe_server; client = (uv_stream_t *) &pipe_client; accepted = (uv_stream_t *) &pipe_accepted;
    CHECK(0 == uv_pipe_init(loop, &pipe_server, 0));
    CHECK(0 == uv_pipe_init(loop, &pipe_client, 0));
    CHECK(0 == uv_pipe_init(loop, &pipe_accepted, 0));
    CHECK(0 == uv_pipe_bind(&pipe_server, path));
    printf("pipe bind again %s\n", uv_err_name(uv_pipe_bind(&pipe_server, path)));
    CHECK(0 == uv_pipe_getsockname(&pipe_server, name, &size));
    printf("pipe name matches %d\n", 0 == strcmp(name, path));
    printf("pipe read unconnected %s\n", uv_err_name(uv_read_start(client, on_alloc, on_read)));
    printf("pipe listen %d\n", uv_listen(server, 16, on_connection));
    uv_pipe_connect(&connect_req, &pipe_client, path, on_connect);
    run();
    printf("pipe unlinked %d\n", access(path, F_OK) != 0);

    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
