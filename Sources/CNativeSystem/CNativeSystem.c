/* Most helpers are in include/CNativeSystem.h. */
#define _GNU_SOURCE
#include "CNativeSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The name of a thread of this process (pthread_getname_np), for messages. */
int cnative_thread_name(unsigned long thread, char *buffer, unsigned long length) {
    return pthread_getname_np((pthread_t)thread, buffer, length);
}

int cnative_pidfd_open(int pid) {
#ifdef SYS_pidfd_open
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)pid;
    return -ENOSYS;
#endif
}

/* The native backend's signal state. Everything below is read by the handler
   and changed only with the lock held (by threads that block every signal
   while they hold it), so the handler never sees a half-made change. */
static int lock_pipe[2] = {-1, -1};
static void (*dispatcher)(int);
/* The function handler each signal had before ours, and whether there is one. */
static struct sigaction replaced[_NSIG];
static int has_replaced[_NSIG];
/* Whether our handler is installed for the signal, and whether it is to
   step aside after one delivery (every watcher one-shot). */
static int armed[_NSIG];
static int resetting[_NSIG];

void cnative_signals_prepare(void (*dispatch)(int)) {
    char token = 0;
    if (pipe2(lock_pipe, O_CLOEXEC) != 0) abort();
    dispatcher = dispatch;
    while (write(lock_pipe[1], &token, 1) == -1 && errno == EINTR) {}
}

int cnative_signals_lock(void) {
    char token;
    for (;;) {
        ssize_t r = read(lock_pipe[0], &token, 1);
        if (r == 1) return 1;
        if (r == -1 && errno == EINTR) continue;
        return 0;
    }
}

void cnative_signals_unlock(void) {
    char token = 0;
    while (write(lock_pipe[1], &token, 1) == -1 && errno == EINTR) {}
}

static void handler(int signo, siginfo_t *info, void *context);

static int is_ours(const struct sigaction *sa) {
    return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == handler;
}

static int is_function(const struct sigaction *sa) {
    if (sa->sa_flags & SA_SIGINFO) return sa->sa_sigaction != NULL;
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN && sa->sa_handler != SIG_ERR;
}

/* With the lock held: our handler leaves `signum` to the handler it
   replaced, or to the default action. */
static int step_aside(int signum) {
    struct sigaction sa, current;
    armed[signum] = 0;
    resetting[signum] = 0;
    if (has_replaced[signum]) {
        sa = replaced[signum];
        has_replaced[signum] = 0;
    } else {
        memset(&sa, 0, sizeof sa);
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = SIG_DFL;
    }
    /* Another library may have installed its handler over ours since (libuv
       does when its first watcher of the signal starts): then the signal is
       its own, and stays so. Looked at before, and again in the same call
       that puts ours away, in case it came in between. */
    if (sigaction(signum, NULL, &current) != 0) return -1;
    if (!is_ours(&current)) return 0;
    if (sigaction(signum, &sa, &current) != 0) return -1;
    if (!is_ours(&current)) return sigaction(signum, &current, NULL);
    return 0;
}

static void handler(int signo, siginfo_t *info, void *context) {
    int saved_errno = errno;
    struct sigaction next;
    int chain = 0;
    if (signo <= 0 || signo >= _NSIG) return;
    if (cnative_signals_lock()) {
        dispatcher(signo);
        if (has_replaced[signo]) {
            next = replaced[signo];
            chain = 1;
            /* The kernel would have put the default action back after it. */
            if (next.sa_flags & SA_RESETHAND) has_replaced[signo] = 0;
        }
        /* As SA_RESETHAND would (a second signal gets the default action
           before the loop stops its one-shot watchers), but leaving the
           signal to the handler ours replaced, if there was one. Every
           signal is blocked while this handler runs. */
        if (resetting[signo]) step_aside(signo);
        cnative_signals_unlock();
    }
    errno = saved_errno;
    if (chain) {
        if (next.sa_flags & SA_SIGINFO) next.sa_sigaction(signo, info, context);
        else next.sa_handler(signo);
    }
    errno = saved_errno;
}

int cnative_signals_install(int signum, int reset) {
    struct sigaction sa, old;
    if (signum <= 0 || signum >= _NSIG) { errno = EINVAL; return -1; }
    memset(&sa, 0, sizeof sa);
    sigfillset(&sa.sa_mask);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    /* One call sets ours and reads what it replaced, so a handler another
       library installs at the same moment cannot slip in between. */
    if (sigaction(signum, &sa, &old) != 0) return -1;
    if (!is_ours(&old)) {
        has_replaced[signum] = is_function(&old);
        if (has_replaced[signum]) replaced[signum] = old;
    }
    armed[signum] = 1;
    resetting[signum] = reset;
    return 0;
}

int cnative_signals_restore(int signum) {
    if (signum <= 0 || signum >= _NSIG) { errno = EINVAL; return -1; }
    /* A one-shot handler that was delivered has stepped aside already. */
    if (!armed[signum]) return 0;
    return step_aside(signum);
}

int cnative_signals_reassert(int signum, int reset) {
    struct sigaction current;
    if (signum <= 0 || signum >= _NSIG || !armed[signum]) return 0;
    if (sigaction(signum, NULL, &current) != 0) return -1;
    if (is_ours(&current)) return 0;
    return cnative_signals_install(signum, reset);
}
