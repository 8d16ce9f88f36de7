/* isolate UID GID PROGRAM [ARG...]: runs PROGRAM as UID:GID, without
 * supplementary groups, in a network namespace of its own whose only
 * interface is loopback (up), a mount namespace of its own whose /tmp is an
 * empty tmpfs, and a PID namespace of its own (with its /proc). Needs root
 * (CAP_SYS_ADMIN); the environment is passed on; exits with PROGRAM's exit
 * status (128 + the signal when a signal ended it, 125 when isolate failed).
 *
 * libuv's tests then cannot send a packet off this machine (some connect to
 * 1.2.3.4, 8.8.8.8 or 192.0.2.3, or send to a multicast group), cannot share
 * a port (TEST_PORT...) or a socket path (/tmp/uv-test-sock..., removed by
 * the runner before every test) with a test running beside them, and leave
 * no process behind: when PROGRAM ends (or isolate is killed), whatever it
 * started, detached helpers too, is killed with the namespace.
 *
 * ISOLATE_KEEP=DIR in the environment, DIR under /tmp (a build folder in a
 * clone under /tmp): DIR stays visible at its path inside the private /tmp,
 * bind-mounted from the real one, so that PROGRAM and its files are found. */
#define _GNU_SOURCE
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char* what) {
  perror(what);
  exit(125);
}

/* Waits for pid (reaping any other child meanwhile); its exit status. */
static int wait_for(pid_t pid) {
  int status;
  pid_t p;

  for (;;) {
    p = wait(&status);
    if (p == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (p == -1 && errno != EINTR)
      return 125;
  }
}

int main(int argc, char** argv) {
  struct ifreq ifr;
  pid_t init;
  pid_t child;
  uid_t uid;
  gid_t gid;
  int fd;
  int keep_fd = -1;
  const char* keep;
  char path[4096];
  char source[64];
  size_t i;

  if (argc < 4) {
    fprintf(stderr, "usage: isolate UID GID PROGRAM [ARG...]\n");
    return 125;
  }
  uid = (uid_t) atol(argv[1]);
  gid = (gid_t) atol(argv[2]);

  if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0)
    die("isolate: unshare");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die("isolate: mount --make-rprivate /");
  keep = getenv("ISOLATE_KEEP");
  if (keep != NULL && strncmp(keep, "/tmp/", 5) == 0 && strlen(keep) < sizeof path) {
    keep_fd = open(keep, O_PATH | O_DIRECTORY);
    if (keep_fd == -1)
      die("isolate: open ISOLATE_KEEP");
  }
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m") != 0)
    die("isolate: mount tmpfs /tmp");
  if (keep_fd != -1) {
    /* The folders down to it (searchable by the test user), then the bind. */
    strcpy(path, keep);
    for (i = 5; path[i] != '\0'; i++) {
      if (path[i] != '/')
        continue;
      path[i] = '\0';
      if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("isolate: mkdir under /tmp");
      path[i] = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
      die("isolate: mkdir ISOLATE_KEEP");
    snprintf(source, sizeof source, "/proc/self/fd/%d", keep_fd);
    if (mount(source, path, NULL, MS_BIND | MS_REC, NULL) != 0)
      die("isolate: bind ISOLATE_KEEP");
    close(keep_fd);
  }

  fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd == -1)
    die("isolate: socket");
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
    die("isolate: SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
    die("isolate: SIOCSIFFLAGS lo");
  close(fd);

  /* The first child is PID 1 of the new namespace: it runs PROGRAM as its
   * own child and, when that ends, ends too, which kills the rest. */
  init = fork();
  if (init == -1)
    die("isolate: fork");
  if (init == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
      die("isolate: mount proc");
    child = fork();
    if (child == -1)
      die("isolate: fork");
    if (child == 0) {
      if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
        die("isolate: dropping privileges");
      execv(argv[3], argv + 3);
      die("isolate: exec");
    }
    _exit(wait_for(child));
  }
  return wait_for(init);
}
