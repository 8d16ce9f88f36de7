/* Poll handles and name resolution through libuv's API: the Swift test
   runs it on libuv and on libUVNative.so and compares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <netdb.h>
#include <uv.h>

#define CHECK(expr) do { if (!(expr)) { printf("FAILED: %s (line %d)\n", #expr, __LINE__); exit(1); } } while (0)

static uv_poll_t poller, duplicate;
static uv_getaddrinfo_t resolve_req, sync_req;
static uv_getnameinfo_t name_req;
static int fds[2];

static void on_poll(uv_poll_t *handle, int status, int events) {
    char byte;
    printf("poll status %d events %d\n", status, events);
    CHECK(1 == read(fds[0], &byte, 1));
    CHECK(0 == uv_poll_stop(handle));
    uv_close((uv_handle_t *) handle, NULL);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *list) {
    printf("getaddrinfo %d family %d\n", status, list != NULL ? list->ai_family : -1);
    uv_freeaddrinfo(list);
    (void) req;
}

static void on_name(uv_getnameinfo_t *req, int status, const char *host, const char *service) {
    printf("getnameinfo %d host %s service %s\n", status, host, service);
    (void) req;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    uv_loop_t *loop = uv_default_loop();
    struct addrinfo hints;
    struct sockaddr_in address;
    int file;

    CHECK(0 == socketpair(AF_UNIX, SOCK_STREAM, 0, fds));
    CHECK(0 == uv_poll_init(loop, &poller, fds[0]));
    /* (Not started yet, so not watched yet: both libraries accept it.) */
    printf("poll same fd %d\n", uv_poll_init(loop, &duplicate, fds[0]));
    uv_close((uv_handle_t *) &duplicate, NULL);
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    file = open("/etc/hostname", O_RDONLY);
    printf("poll regular file %s\n", uv_err_name(uv_poll_init(loop, &duplicate, file)));
    close(file);
    CHECK(0 == uv_poll_start(&poller, UV_READABLE, on_poll));
    CHECK(1 == write(fds[1], "x", 1));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    printf("getaddrinfo nothing %s\n", uv_err_name(uv_getaddrinfo(loop, &sync_req, on_resolved, NULL, NULL, &hints)));
    CHECK(0 == uv_getaddrinfo(loop, &resolve_req, on_resolved, "127.0.0.1", "80", &hints));
    printf("sync bad host %s\n", uv_err_name(uv_getaddrinfo(loop, &sync_req, NULL, "no such host.invalid", NULL, &hints)));
    CHECK(0 == uv_ip4_addr("127.0.0.1", 80, &address));
    CHECK(0 == uv_getnameinfo(loop, &name_req, on_name, (struct sockaddr *) &address, NI_NUMERICHOST | NI_NUMERICSERV));
    CHECK(0 == uv_run(loop, UV_RUN_DEFAULT));
    close(fds[0]);
    close(fds[1]);
    CHECK(0 == uv_loop_close(loop));
    printf("done\n");
    return 0;
}
