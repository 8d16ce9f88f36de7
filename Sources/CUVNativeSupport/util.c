/* Version, clocks, buffers, addresses and descriptor guessing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <net/if.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "CUVNativeSupport.h"

/* uv_version: the version this library reproduces, 1.44.2, as UV_VERSION_HEX. */
unsigned int uv_version(void) { return UV_VERSION_HEX; }

#define UVNATIVE_STRINGIFY_(x) #x
#define UVNATIVE_STRINGIFY(x) UVNATIVE_STRINGIFY_(x)

/* uv_version_string: "1.44.2" (the system's libuv release this library
   reproduces). */
const char *uv_version_string(void) {
    return UVNATIVE_STRINGIFY(UV_VERSION_MAJOR) "." UVNATIVE_STRINGIFY(UV_VERSION_MINOR) "."
        UVNATIVE_STRINGIFY(UV_VERSION_PATCH);
}

/* uv_hrtime: the monotonic clock in nanoseconds. */
uint64_t uv_hrtime(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t) now.tv_sec * 1000000000u + (uint64_t) now.tv_nsec;
}

/* uv_sleep: sleeps msec milliseconds, whatever signals come. */
void uv_sleep(unsigned int msec) {
    struct timespec left;
    left.tv_sec = msec / 1000;
    left.tv_nsec = (long) (msec % 1000) * 1000000L;
    while (nanosleep(&left, &left) == -1 && errno == EINTR) {
    }
}

/* uv_buf_init */
uv_buf_t uv_buf_init(char *base, unsigned int len) {
    uv_buf_t buf;
    buf.base = base;
    buf.len = len;
    return buf;
}

/* uv_inet_pton: UV_EINVAL for text that is not an address (an IPv6
   address may carry a "%zone", which is ignored), UV_EAFNOSUPPORT for
   another family. */
int uv_inet_pton(int af, const char *src, void *dst) {
    char address[INET6_ADDRSTRLEN];
    const char *zone;
    if (src == NULL || dst == NULL)
        return UV_EINVAL;
    if (af == AF_INET)
        return inet_pton(AF_INET, src, dst) == 1 ? 0 : UV_EINVAL;
    if (af != AF_INET6)
        return UV_EAFNOSUPPORT;
    zone = strchr(src, '%');
    if (zone != NULL) {
        size_t length = (size_t) (zone - src);
        if (length >= sizeof address)
            return UV_EINVAL;
        memcpy(address, src, length);
        address[length] = '\0';
        src = address;
    }
    return inet_pton(AF_INET6, src, dst) == 1 ? 0 : UV_EINVAL;
}

/* uv_inet_ntop: UV_ENOSPC when dst is too small, UV_EAFNOSUPPORT for
   another family. */
int uv_inet_ntop(int af, const void *src, char *dst, size_t size) {
    if (af != AF_INET && af != AF_INET6)
        return UV_EAFNOSUPPORT;
    if (inet_ntop(af, src, dst, (socklen_t) size) == NULL)
        return UV_ENOSPC;
    return 0;
}

/* uv_ip4_addr: fills *addr (zeroed first) with ip and port. */
int uv_ip4_addr(const char *ip, int port, struct sockaddr_in *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t) port);
    return uv_inet_pton(AF_INET, ip, &addr->sin_addr.s_addr);
}

/* uv_ip6_addr: fills *addr (zeroed first) with ip and port; a "%zone"
   names the scope's interface (an unknown one gives scope 0). */
int uv_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr) {
    const char *zone;
    memset(addr, 0, sizeof *addr);
    addr->sin6_family = AF_INET6;
    addr->sin6_port = htons((uint16_t) port);
    zone = strchr(ip, '%');
    if (zone != NULL)
        addr->sin6_scope_id = if_nametoindex(zone + 1);
    return uv_inet_pton(AF_INET6, ip, &addr->sin6_addr);
}

/* uv_ip4_name */
int uv_ip4_name(const struct sockaddr_in *src, char *dst, size_t size) {
    return uv_inet_ntop(AF_INET, &src->sin_addr, dst, size);
}

/* uv_ip6_name */
int uv_ip6_name(const struct sockaddr_in6 *src, char *dst, size_t size) {
    return uv_inet_ntop(AF_INET6, &src->sin6_addr, dst, size);
}

/* uv_ip_name: either family; UV_EAFNOSUPPORT for another. */
int uv_ip_name(const struct sockaddr *src, char *dst, size_t size) {
    if (src->sa_family == AF_INET)
        return uv_ip4_name((const struct sockaddr_in *) src, dst, size);
    if (src->sa_family == AF_INET6)
        return uv_ip6_name((const struct sockaddr_in6 *) src, dst, size);
    return UV_EAFNOSUPPORT;
}

/* uv_guess_handle: what libuv would open a descriptor as: a terminal is
   UV_TTY, a file or character device UV_FILE, a FIFO or Unix stream socket
   UV_NAMED_PIPE, an IP stream socket UV_TCP, an IP datagram socket UV_UDP. */
uv_handle_type uv_guess_handle(uv_file file) {
    struct stat st;
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    int type;
    socklen_t type_length = sizeof type;
    int ip;

    if (file < 0)
        return UV_UNKNOWN_HANDLE;
    if (isatty(file))
        return UV_TTY;
    if (fstat(file, &st) != 0)
        return UV_UNKNOWN_HANDLE;
    if (S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))
        return UV_FILE;
    if (S_ISFIFO(st.st_mode))
        return UV_NAMED_PIPE;
    if (!S_ISSOCK(st.st_mode))
        return UV_UNKNOWN_HANDLE;
    if (getsockname(file, (struct sockaddr *) &address, &length) != 0)
        return UV_UNKNOWN_HANDLE;
    if (getsockopt(file, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
        return UV_UNKNOWN_HANDLE;
    ip = address.ss_family == AF_INET || address.ss_family == AF_INET6;
    if (type == SOCK_DGRAM && ip)
        return UV_UDP;
    if (type == SOCK_STREAM && ip)
        return UV_TCP;
    if (type == SOCK_STREAM && address.ss_family == AF_UNIX)
        return UV_NAMED_PIPE;
    return UV_UNKNOWN_HANDLE;
}

/* uv_random's source: getrandom(2), in pieces of at most 32 MiB, retried
   on EINTR. */
int uvnative__random_fill(void *buf, size_t len) {
    char *at = buf;
    while (len > 0) {
        size_t piece = len < (32u << 20) ? len : (32u << 20);
        ssize_t n = getrandom(at, piece, 0);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        at += n;
        len -= (size_t) n;
    }
    return 0;
}

/* uv_if_indextoname: the interface's name, UV_ENOBUFS (with the room
   needed) when buffer is too small. */
int uv_if_indextoname(unsigned int ifindex, char *buffer, size_t *size) {
    char name[IF_NAMESIZE + 1];
    size_t length;
    if (buffer == NULL || size == NULL || *size == 0)
        return UV_EINVAL;
    if (if_indextoname(ifindex, name) == NULL)
        return -errno;
    length = strnlen(name, sizeof name);
    if (length >= *size) {
        *size = length + 1;
        return UV_ENOBUFS;
    }
    memcpy(buffer, name, length);
    buffer[length] = '\0';
    *size = length;
    return 0;
}

/* uv_if_indextoiid: on Unix, the interface's name. */
int uv_if_indextoiid(unsigned int ifindex, char *buffer, size_t *size) {
    return uv_if_indextoname(ifindex, buffer, size);
}

/* A socket option of a TCP, pipe or UDP handle: read when *value is 0,
   else set (libuv's uv__socket_sockopt). */
static int socket_buffer_size(uv_handle_t *handle, int option, int *value) {
    uv_os_fd_t fd;
    socklen_t length = sizeof *value;
    int r;
    if (handle == NULL || value == NULL)
        return UV_EINVAL;
    if (handle->type != UV_TCP && handle->type != UV_NAMED_PIPE && handle->type != UV_UDP)
        return UV_ENOTSUP;
    if (uv_fileno(handle, &fd) != 0)
        fd = -1;
    if (*value == 0)
        r = getsockopt(fd, SOL_SOCKET, option, value, &length);
    else
        r = setsockopt(fd, SOL_SOCKET, option, value, length);
    return r < 0 ? -errno : 0;
}

/* uv_send_buffer_size: SO_SNDBUF, read when *value is 0, else set. */
int uv_send_buffer_size(uv_handle_t *handle, int *value) { return socket_buffer_size(handle, SO_SNDBUF, value); }

/* uv_recv_buffer_size: SO_RCVBUF, read when *value is 0, else set. */
int uv_recv_buffer_size(uv_handle_t *handle, int *value) { return socket_buffer_size(handle, SO_RCVBUF, value); }

/* Makes the ends non-blocking as their flags ask (UV_NONBLOCK_PIPE);
   closes both on failure. */
static int finish_ends(int ends[2], int flags0, int flags1, int out[2]) {
    if (((flags0 & UV_NONBLOCK_PIPE) && fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK) != 0)
        || ((flags1 & UV_NONBLOCK_PIPE) && fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK) != 0)) {
        int err = -errno;
        close(ends[0]);
        close(ends[1]);
        return err;
    }
    out[0] = ends[0];
    out[1] = ends[1];
    return 0;
}

/* uv_pipe: a pipe, close-on-exec, each end non-blocking when its flags ask
   (UV_NONBLOCK_PIPE). */
int uv_pipe(uv_file fds[2], int read_flags, int write_flags) {
    int ends[2];
    if (pipe2(ends, O_CLOEXEC) != 0)
        return -errno;
    return finish_ends(ends, read_flags, write_flags, fds);
}

/* uv_socketpair: a connected pair, close-on-exec, each end non-blocking
   when its flags ask (UV_NONBLOCK_PIPE). */
int uv_socketpair(int type, int protocol, uv_os_sock_t fds[2], int flags0, int flags1) {
    int ends[2];
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, protocol, ends) != 0)
        return -errno;
    return finish_ends(ends, flags0, flags1, fds);
}

/* uv_udp_set_source_membership for an IPv6 group, on a bound socket. */
int uvnative__udp_source_membership6(int fd, const char *group, const char *interface, const char *source, int join) {
    struct group_source_req request;
    struct sockaddr_in6 group6, source6, interface6;
    int err;
    memset(&request, 0, sizeof request);
    if ((err = uv_ip6_addr(group, 0, &group6)) != 0 || (err = uv_ip6_addr(source, 0, &source6)) != 0)
        return err;
    if (interface != NULL) {
        if ((err = uv_ip6_addr(interface, 0, &interface6)) != 0)
            return err;
        request.gsr_interface = interface6.sin6_scope_id;
    }
    memcpy(&request.gsr_group, &group6, sizeof group6);
    memcpy(&request.gsr_source, &source6, sizeof source6);
    if (setsockopt(fd, IPPROTO_IPV6, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &request, sizeof request) != 0)
        return -errno;
    return 0;
}
