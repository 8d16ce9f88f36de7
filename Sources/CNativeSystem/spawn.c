#define _GNU_SOURCE
#include "CNativeSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void write_errno(int fd) {
    int e = errno;
    ssize_t r;
    do r = write(fd, &e, sizeof e); while (r == -1 && errno == EINTR);
    _exit(127);
}

static void child(const char *file, char *const argv[], char *const envp[], const char *cwd,
                  int *fds, int count, int detached, int set_uid, unsigned int uid,
                  int set_gid, unsigned int gid, int error_fd) {
    sigset_t none;
    int n, fd, use_fd, close_fd;

    for (n = 1; n < 32; n++) {
        if (n == SIGKILL || n == SIGSTOP) continue;
        if (signal(n, SIG_DFL) == SIG_ERR) write_errno(error_fd);
    }
    if (detached) setsid();

    /* Move descriptors that a lower slot would overwrite out of the way. */
    for (fd = 0; fd < count; fd++) {
        use_fd = fds[fd];
        if (use_fd < 0 || use_fd >= fd) continue;
        fds[fd] = fcntl(use_fd, F_DUPFD_CLOEXEC, count);
        if (fds[fd] == -1) write_errno(error_fd);
    }
    for (fd = 0; fd < count; fd++) {
        close_fd = -1;
        use_fd = fds[fd];
        if (use_fd < 0) {
            if (fd >= 3) continue;
            close(fd);
            use_fd = open("/dev/null", fd == 0 ? O_RDONLY : O_RDWR);
            close_fd = use_fd;
            if (use_fd < 0) write_errno(error_fd);
        }
        if (fd == use_fd) {
            if (close_fd == -1) {
                int flags = fcntl(use_fd, F_GETFD);
                if (flags == -1 || fcntl(use_fd, F_SETFD, flags & ~FD_CLOEXEC) == -1) write_errno(error_fd);
            }
        } else if (dup2(use_fd, fd) == -1) {
            write_errno(error_fd);
        }
        if (fd <= 2 && close_fd == -1) {
            int flags = fcntl(fd, F_GETFL);
            if (flags != -1) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
        }
        if (close_fd >= count) close(close_fd);
    }
    if (cwd != NULL && chdir(cwd) != 0) write_errno(error_fd);
    if (set_uid || set_gid) {
        int saved = errno;
        setgroups(0, NULL);
        errno = saved;
    }
    if (set_gid && setgid(gid) != 0) write_errno(error_fd);
    if (set_uid && setuid(uid) != 0) write_errno(error_fd);
    if (envp != NULL) environ = (char **)envp;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) abort();
    execvp(file, argv);
    write_errno(error_fd);
}

int cnative_spawn(const char *file, char *const argv[], char *const envp[], const char *cwd,
                  int *stdio_fds, int stdio_count, int detached,
                  int set_uid, unsigned int uid, int set_gid, unsigned int gid, int *pid) {
    int signal_pipe[2];
    sigset_t all, saved;
    pid_t p;
    int exec_errno, status;
    ssize_t r;

    if (pipe2(signal_pipe, O_CLOEXEC) != 0) return -errno;
    /* No signal handler may run in the child before it resets them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved);
    p = fork();
    if (p == 0) {
        close(signal_pipe[0]);
        child(file, argv, envp, cwd, stdio_fds, stdio_count, detached, set_uid, uid, set_gid, gid, signal_pipe[1]);
        _exit(127);
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    if (p == -1) {
        int e = errno;
        close(signal_pipe[0]);
        close(signal_pipe[1]);
        return -e;
    }
    close(signal_pipe[1]);
    exec_errno = 0;
    do r = read(signal_pipe[0], &exec_errno, sizeof exec_errno); while (r == -1 && errno == EINTR);
    close(signal_pipe[0]);
    if (r == sizeof exec_errno) {
        while (waitpid(p, &status, 0) == -1 && errno == EINTR) {}
        return -exec_errno;
    }
    *pid = p;
    return 0;
}
