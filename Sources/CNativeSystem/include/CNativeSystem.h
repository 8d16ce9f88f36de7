#ifndef SWIFTUV_CNATIVESYSTEM_H
#define SWIFTUV_CNATIVESYSTEM_H

/* Linux headers the Glibc module does not export, for the native engine.
   System headers only: the native engine never sees libuv. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <string.h>

/* The process-wide signal handler of the native backend (implemented in
   CNativeSystem.c). One C handler serves every watched signal: it takes the
   lock, calls `dispatch` (which writes a record to each watching loop),
   and then calls the handler that was installed before it, if there was one
   (another library's, such as libuv's in the same process), so that both
   keep getting the signal. The lock is a pipe holding one byte when free,
   which a signal handler can take safely; threads that take it block every
   signal first. */
void cnative_signals_prepare(void (*dispatch)(int));
int cnative_signals_lock(void);
void cnative_signals_unlock(void);
/* With the lock held: installs the handler for `signum`, remembering the
   function handler it replaces; with `reset` (every watcher one-shot) the
   handler steps aside after one delivery, as libuv's SA_RESETHAND does,
   leaving the signal to the handler it replaced or the default action. */
int cnative_signals_install(int signum, int reset);
/* With the lock held: the last watcher of `signum` is gone. Puts back the
   handler it replaced, or the default action. */
int cnative_signals_restore(int signum);
/* With the lock held: if another library replaced the handler of a signal
   that native watchers still watch, installs it again in front of the new
   one (or of the default action that library put back). */
int cnative_signals_reassert(int signum, int reset);

/* sendmsg(2) of `iov` with one descriptor passed as SCM_RIGHTS. */
static inline ssize_t cnative_sendmsg_fd(int fd, struct iovec *iov, int iovcnt, int passfd) {
    union { char data[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg;
    struct cmsghdr *cmsg;
    memset(&msg, 0, sizeof(msg));
    memset(&control, 0, sizeof(control));
    msg.msg_iov = iov;
    msg.msg_iovlen = iovcnt;
    msg.msg_control = control.data;
    msg.msg_controllen = CMSG_SPACE(sizeof(int));
    cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &passfd, sizeof(int));
    return sendmsg(fd, &msg, 0);
}

/* recvmsg(2) into `buffer`, taking up to `max` passed descriptors (made
   close-on-exec) into `fds`; their count goes to `*nfds`. */
static inline ssize_t cnative_recvmsg_fds(int fd, void *buffer, size_t length, int *fds, int max, int *nfds) {
    union { char data[CMSG_SPACE(64 * sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = { buffer, length };
    struct msghdr msg;
    struct cmsghdr *cmsg;
    ssize_t n;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data;
    msg.msg_controllen = sizeof(control.data);
    *nfds = 0;
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        int count = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int passed;
            memcpy(&passed, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (*nfds < max)
                fds[(*nfds)++] = passed;
            else
                close(passed);
        }
    }
    return n;
}

/* statx(2) through syscall(2): the Glibc module does not export it. Fills
   the basic fields and the birth time; -1 and errno on failure. */
#include <sys/syscall.h>
#include <linux/stat.h>
static inline int cnative_statx(int dirfd, const char *path, int flags, struct statx *out) {
    return (int)syscall(SYS_statx, dirfd, path, flags, 0xFFF, out);
}

/* accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, as libuv accepts: no window
   where a fork elsewhere inherits the descriptor. */
static inline int cnative_accept(int fd) {
    return (int)syscall(SYS_accept4, fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* sendfile(2), which the Glibc module does not export. */
#include <sys/sendfile.h>
static inline ssize_t cnative_sendfile(int out, int in, off_t *offset, size_t count) {
    return sendfile(out, in, offset, count);
}

/* statfs(2) into libuv's seven uv_statfs_t fields, in order: type, bsize,
   blocks, bfree, bavail, files, ffree. 0 or -1 and errno. */
#include <sys/vfs.h>
static inline int cnative_statfs(const char *path, unsigned long long out[7]) {
    struct statfs s;
    if (statfs(path, &s) != 0)
        return -1;
    out[0] = (unsigned long long)s.f_type;
    out[1] = (unsigned long long)s.f_bsize;
    out[2] = s.f_blocks;
    out[3] = s.f_bfree;
    out[4] = s.f_bavail;
    out[5] = s.f_files;
    out[6] = s.f_ffree;
    return 0;
}

/* inotify, which the Glibc module does not export. */
#include <sys/inotify.h>
static inline int cnative_inotify_init(void) { return inotify_init1(IN_NONBLOCK | IN_CLOEXEC); }
static inline int cnative_inotify_add_watch(int fd, const char *path, unsigned int mask) { return inotify_add_watch(fd, path, mask); }
static inline int cnative_inotify_rm_watch(int fd, int wd) { return inotify_rm_watch(fd, wd); }

/* Whether a terminal descriptor is the slave side of a pseudo-terminal
   (only a master answers TIOCGPTN). */
static inline int cnative_is_pty_slave(int fd) {
    unsigned int n;
    return ioctl(fd, TIOCGPTN, &n) != 0;
}

/* The counter a signal handler bumps and the loop thread reads. */
static inline void cnative_counter_increment(long *counter) {
    __atomic_fetch_add(counter, 1, __ATOMIC_RELEASE);
}

static inline long cnative_counter_load(const long *counter) {
    return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}

/* Forks and execs `file` as libuv's uv_spawn does: the child resets every
   signal to its default and unblocks them, makes a new session if
   `detached`, puts `stdio_fds[i]` on descriptor i (-1: /dev/null for 0-2,
   nothing above), changes directory, sets the group and user if asked, and
   replaces its environment with `envp` unless it is NULL. An exec failure
   reaches the parent through a close-on-exec pipe. Returns 0 with *pid set,
   or -errno (the failed child is reaped). Implemented in spawn.c: the child
   runs C only. */
int cnative_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
                  int *stdio_fds, int stdio_count, int detached,
                  int set_uid, unsigned int uid, int set_gid, unsigned int gid, int *pid);

/* pidfd_open(2): a descriptor that becomes readable when the child exits,
   close-on-exec; -errno if the kernel has none (before Linux 5.3). */
int cnative_pidfd_open(int pid);

/* The name of a thread of this process (pthread_getname_np), for messages. */
int cnative_thread_name(unsigned long thread, char *buffer, unsigned long length);

#endif
