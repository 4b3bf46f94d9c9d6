/*
 * What a process in a container may try against the user who started it (escape.test.ts builds this
 * statically and binds it into the container). Prints one "name: outcome" line per attempt, the
 * outcome being "ok" or the errno's name.
 *   probe tty              open /dev/tty; TIOCSTI on fds 0-2 (pushes a NUL: nothing runs); the session id
 *   probe keyring NAME     look for a "user" key NAME in the session keyring
 *   probe addkey NAME CMD...  (on the host) a new session keyring holding key NAME, then exec CMD in it
 *   probe no-mount-setattr CMD...  (on the host) exec CMD where mount_setattr fails with ENOSYS, as on
 *                          kernels before 5.12 (a seccomp filter: no_new_privs, so no setuid newuidmap)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEY_SPEC_SESSION_KEYRING -3
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_SEARCH 10

static const char *outcome(long r) {
  if (r >= 0) return "ok";
  switch (errno) {
  case ENXIO: return "ENXIO";
  case ENOTTY: return "ENOTTY";
  case EIO: return "EIO";
  case EPERM: return "EPERM";
  case EACCES: return "EACCES";
  case ENOKEY: return "ENOKEY";
  case ENOENT: return "ENOENT";
  default: return strerror(errno);
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "tty")) {
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY), i;
    printf("open /dev/tty: %s\n", outcome(fd));
    for (i = 0; i < 3; i++) {
      char c = 0;
      printf("TIOCSTI on fd %d: %s\n", i, outcome(ioctl(i, TIOCSTI, &c)));
    }
    /* 0 when the session's leader is outside the container's pid namespace (the user's shell). */
    printf("session: %s\n", getsid(0) > 0 ? "its own" : "outside the container");
    return 0;
  }
  if (argc == 3 && !strcmp(argv[1], "keyring")) {
    long r = syscall(SYS_keyctl, KEYCTL_SEARCH, KEY_SPEC_SESSION_KEYRING, "user", argv[2], 0);
    printf("find key %s: %s\n", argv[2], outcome(r));
    return 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "addkey")) {
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "rl-escape-test") < 0) { perror("join"); return 125; }
    if (syscall(SYS_add_key, "user", argv[2], "secret", 6, KEY_SPEC_SESSION_KEYRING) < 0) { perror("add_key"); return 125; }
    execv(argv[3], argv + 3);
    perror("exec");
    return 127;
  }
  if (argc >= 3 && !strcmp(argv[1], "no-mount-setattr")) {
    struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 442 /* mount_setattr, x86_64 and aarch64 */, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof code / sizeof code[0], code };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) { perror("seccomp"); return 125; }
    execv(argv[2], argv + 2);
    perror("exec");
    return 127;
  }
  fprintf(stderr, "usage: probe tty | keyring NAME | addkey NAME CMD... | no-mount-setattr CMD...\n");
  return 2;
}
