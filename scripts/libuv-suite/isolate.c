/* isolate UID GID PROGRAM [ARG...]: runs PROGRAM as UID:GID, without
 * supplementary groups, in a network namespace of its own whose only
 * interface is loopback (up) and a mount namespace of its own whose /tmp is
 * an empty tmpfs. Needs root (CAP_SYS_ADMIN); the environment is passed on.
 *
 * libuv's tests then cannot send a packet off this machine (some connect to
 * 1.2.3.4, 8.8.8.8 or 192.0.2.3, or send to a multicast group), cannot share
 * a port (TEST_PORT...) or a socket path (/tmp/uv-test-sock..., removed by
 * the runner before every test) with a test running beside them. */
#define _GNU_SOURCE
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char* what) {
  perror(what);
  exit(125);
}

int main(int argc, char** argv) {
  struct ifreq ifr;
  uid_t uid;
  gid_t gid;
  int fd;

  if (argc < 4) {
    fprintf(stderr, "usage: isolate UID GID PROGRAM [ARG...]\n");
    return 125;
  }
  uid = (uid_t) atol(argv[1]);
  gid = (gid_t) atol(argv[2]);

  if (unshare(CLONE_NEWNS | CLONE_NEWNET) != 0)
    die("isolate: unshare");
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die("isolate: mount --make-rprivate /");
  if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m") != 0)
    die("isolate: mount tmpfs /tmp");

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

  if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
    die("isolate: dropping privileges");
  execv(argv[3], argv + 3);
  die("isolate: exec");
  return 125;
}
