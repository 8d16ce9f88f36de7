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

/* Installs `handler` for `signum` with every signal blocked while it runs;
   `reset` asks the kernel to restore the default action on delivery. */
static inline int cnative_install_handler(int signum, void (*handler)(int), int reset) {
    struct sigaction sa;
    sigfillset(&sa.sa_mask);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART | (reset ? SA_RESETHAND : 0);
    return sigaction(signum, &sa, NULL);
}

/* Restores the default action for `signum`. */
static inline int cnative_default_handler(int signum) {
    struct sigaction sa;
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    return sigaction(signum, &sa, NULL);
}

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

#endif
