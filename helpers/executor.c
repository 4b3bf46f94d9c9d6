/*
 * rl's container executor: compiled at run time by bun:ffi's `cc` (TinyCC), no system headers.
 *
 * Bun is multithreaded, so namespaces cannot be entered from JS; everything between clone() and
 * execve() happens here. The supervisor (Bun) encodes the container's setup as a flat list of ops
 * (see cli/lib/sys/ops.ts); rl_spawn() clones a child that waits until the supervisor has written
 * its id maps and released it with the op list (rl_release), applies the ops in order and execs. The
 * clone comes early, so the id maps are written while the supervisor still builds the op list. A failing
 * op sends {op index, errno} back on an O_CLOEXEC pipe; EOF on that pipe means the exec happened.
 *
 * Where `bun install` found a C compiler, this file is also built as a program (-DRL_EXECUTOR_MAIN): the
 * child then execs it right away (clone as vfork: nothing of Bun's memory is copied) and runs child_main
 * there. Otherwise the child is a copy of the multithreaded Bun process: only async-signal-safe calls
 * (syscalls) here, no malloc, no stdio.
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;

extern int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
extern void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
extern int munmap(void *addr, size_t len);
extern int execve(const char *path, char *const argv[], char *const envp[]);
extern void _exit(int code) __attribute__((noreturn));
extern int pipe2(int fds[2], int flags);
extern ssize_t read(int fd, void *buf, size_t n);
extern ssize_t write(int fd, const void *buf, size_t n);
extern int close(int fd);
extern int dup2(int a, int b);
extern int dup3(int a, int b, int flags);
extern int open(const char *path, int flags, ...);
extern int openat(int dirfd, const char *path, int flags, ...);
extern int mkdirat(int dirfd, const char *path, int mode);
extern int symlinkat(const char *target, int dirfd, const char *linkpath);
extern int unlinkat(int dirfd, const char *path, int flags);
extern int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const void *data);
extern int umount2(const char *target, int flags);
extern int chdir(const char *path);
extern int fchdir(int fd);
extern int sethostname(const char *name, size_t len);
extern long syscall(long nr, ...);
extern int prctl(int option, ...);
extern int waitpid(int pid, int *status, int options);
extern int kill(int pid, int sig);
extern int setsid(void);
extern int ioctl(int fd, unsigned long req, ...);
extern int socket(int domain, int type, int proto);
extern int socketpair(int domain, int type, int proto, int sv[2]);
extern ssize_t sendmsg(int fd, const void *msg, int flags);
extern ssize_t recvmsg(int fd, void *msg, int flags);
extern int fstatfs(int fd, void *buf);
extern unsigned int umask(unsigned int mask);
extern int *__errno_location(void);
extern void (*signal(int sig, void (*handler)(int)))(int);
extern int sigprocmask(int how, const void *set, void *old);
extern int pause(void);
extern int getpid(void);
extern int access(const char *path, int mode);
extern int poll(void *fds, unsigned long n, int timeout);
extern ssize_t readlink(const char *path, char *buf, size_t n);
extern int setns(int fd, int type);
extern int unshare(int flags);
extern int posix_spawn(int *pid, const char *path, const void *file_actions, const void *attr, char *const argv[], char *const envp[]);
extern int posix_spawn_file_actions_init(void *fa);
extern int posix_spawn_file_actions_addopen(void *fa, int fd, const char *path, int oflag, int mode);
extern int posix_spawn_file_actions_adddup2(void *fa, int fd, int newfd);
extern int posix_spawn_file_actions_destroy(void *fa);
extern char **environ;
extern int fcntl(int fd, int cmd, ...);
extern void *malloc(size_t n);
extern void free(void *p);
extern int pthread_create(unsigned long *thread, const void *attr, void *(*fn)(void *), void *arg);
extern int pthread_join(unsigned long thread, void **ret);

#define errno (*__errno_location())

#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOCTTY 0400
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define AT_FDCWD -100
#define EINTR 4
#define ENOENT 2
#define EEXIST 17
#define EPERM 1
#define EACCES 13
#define ENOEXEC 8
#define ENOTDIR 20
#define E2BIG 7

#define MS_RDONLY 1
#define MS_NOSUID 2
#define MS_NODEV 4
#define MS_NOEXEC 8
#define MS_REMOUNT 32
#define MS_NOATIME 1024
#define MS_NODIRATIME 2048
#define MS_BIND 4096
#define MS_REC 16384
#define MS_PRIVATE (1 << 18)
#define MS_RELATIME (1 << 21)
#define MNT_DETACH 2

#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_IN_ROOT 0x10
#define AT_EMPTY_PATH 0x1000
#define AT_RECURSIVE 0x8000
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#define KEYCTL_JOIN_SESSION_KEYRING 1
#define ENOSYS 38
#define ELOOP 40

#if defined(__aarch64__)
#define SYS_pivot_root 41
#define SYS_openat2 437
#define SYS_close_range 436
#define SYS_capset 91
#define SYS_rt_sigaction 134
#define SYS_rt_sigprocmask 135
#define SYS_setgroups 159
#define SYS_setresgid 149
#define SYS_setresuid 147
#define SYS_clone 220
#define SYS_keyctl 219
#define SYS_prlimit64 261
#else
#define SYS_pivot_root 155
#define SYS_openat2 437
#define SYS_close_range 436
#define SYS_capset 126
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_setgroups 116
#define SYS_setresgid 119
#define SYS_setresuid 117
#define SYS_clone 56
#define SYS_keyctl 250
#define SYS_prlimit64 302
#endif
/* The same number on x86_64 and aarch64 (the generic table's). */
#define SYS_mount_setattr 442

#define CLOSE_RANGE_CLOEXEC 4

#define PR_SET_PDEATHSIG 1
#define PR_CAPBSET_DROP 24
#define PR_SET_NO_NEW_PRIVS 38
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#define PR_SET_CHILD_SUBREAPER 36
#define PR_SET_DUMPABLE 4

#define SIGKILL 9
#define SIGCHLD 17

/* fork() for the cloned child: glibc's fork takes malloc's and other locks that a thread of Bun may
 * have held when the child was cloned (it would wait for ever); the raw syscall takes none. */
static int raw_fork(void) { return (int)syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L); }

#define SIG_SETMASK 2

#define TIOCSCTTY 0x540E
#define TIOCGPTN 0x80045430
#define TIOCSPTLCK 0x40045431
#define TIOCSWINSZ 0x5414
#define SIOCGIFFLAGS 0x8913
#define SIOCSIFFLAGS 0x8914
#define IFF_UP 1
#define AF_UNIX 1
#define AF_INET 2
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SCM_RIGHTS 1

/*
 * What a child reports on the error pipe in place of a failed op's index (msg[0], then an errno), and
 * rl_started's res[0] (keep in sync with START in cli/lib/sys/executor.ts: test/unit/op-codes.test.ts).
 */
#define START_EXECED (-1)         /* no failure: the workload was exec'd (the pipe closed unwritten) */
#define START_RELEASE_FAILED (-2) /* the child could not be set up or released (before its ops) */
#define START_JOIN_FAILED (-3)    /* it could not join the namespaces it was given */
#define START_TAP_REPORT (-4)     /* not a failure: the tap0 report of make_tap, then 0 or an errno */
#define START_KEYRING_FAILED (-5) /* it could not join a session keyring of its own */

/* Op codes: keep in sync with cli/lib/sys/ops.ts. */
enum {
  OP_MOUNT = 1,       /* src target fstype flags data: target on the current root (host paths) */
  OP_MOUNT_IN,        /* src target fstype flags data: target resolved inside the container root */
  OP_BIND_IN,         /* src target flags recursive: bind a host path into the root, then remount flags */
  OP_MKDIR_IN,        /* path mode */
  OP_MKFILE_IN,       /* path: an empty file as a bind target */
  OP_SYMLINK_IN,      /* target linkpath */
  OP_SET_ROOT,        /* path: the directory later *_IN ops resolve against */
  OP_REMOUNT_RO_IN,   /* path: make an existing mount read-only, keeping its locked flags */
  OP_SYSFS_IN,        /* path: sysfs read-only, or a read-only rbind of the host's /sys */
  OP_PIVOT,           /* pivot_root into the container root */
  OP_HOSTNAME,        /* name */
  OP_LOOPBACK_UP,
  OP_CHDIR,           /* path */
  OP_SPAWN_WAIT,      /* argc argv...: run a mounting helper to completion (fuse-overlayfs), then move to a
                       * copy of the mount namespace: the helper's daemon stays behind (see spawn_wait) */
  OP_CONSOLE,         /* allocate a pty from the container's devpts, send its master to the supervisor */
  OP_STDIN_NULL,
  OP_SETSID,
  OP_DROP_CAPS,       /* keep-mask (decimal) stays-root (0|1) [ambient-mask: kept through OP_USER's switch] */
  OP_USER,            /* uid gid ngroups groups... */
  OP_UMASK,           /* mode */
  OP_INIT,            /* fork; this process becomes a tiny init: forwards signals, reaps, exits as the child */
  OP_EXEC,            /* argc argv... envc env...: PATH search like execvpe, from the env given */
  OP_NO_NEW_PRIVS,
  OP_MASK_IN,         /* path: /dev/null over a file, an empty read-only tmpfs over a directory */
  OP_SECCOMP,         /* program: a BPF program (struct sock_filter[], binary) to install as the seccomp filter */
  OP_READONLY_IN,     /* path: bind a path of the container onto itself, read-only all the way down */
  OP_UNSHARE,         /* flags: new namespaces (the cgroup one, once rl moved this process into its cgroup) */
  OP_RLIMIT,          /* resource soft hard (decimal, -1: unlimited): setrlimit */
  OP_SYSCTL_IN,       /* path value: write a /proc/sys file of the container's proc */
  OP_OPEN_FD,         /* path fd: open a host path (O_PATH, close-on-exec) as that descriptor */
  OP_NULL_STDIO,      /* fds 0-2 on /dev/null: rl's own (the user's terminal, maybe) go before any fork */
  OP_DETACH           /* exec -d: fork twice and go on alone, reparented to the container's init */
};

struct winsize { unsigned short row, col, xpixel, ypixel; };
struct iovec { void *base; size_t len; };
struct msghdr {
  void *name; uint32_t namelen; struct iovec *iov; size_t iovlen;
  void *control; size_t controllen; int flags;
};
struct open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };
struct ifreq { char name[16]; short flags; char pad[22]; };
struct mount_attr { uint64_t attr_set, attr_clr, propagation, userns_fd; };
struct sigact { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask[16]; };

static int sync_fd = -1, err_fd = -1, console_fd = -1, root_fd = -1;
/*
 * Namespaces to join instead of creating them (rl_spawn's `join`; -1: not joined), in the order they are
 * joined: the user namespace first, whose rights the others need. --network container:X joins the user
 * and network ones and creates the rest (join_unshare); exec joins them all.
 */
#define JOIN_COUNT 7
static const int join_types[JOIN_COUNT] = {
  0x10000000 /* CLONE_NEWUSER */, 0x00020000 /* CLONE_NEWNS */, 0x20000000 /* CLONE_NEWPID */, 0x04000000 /* CLONE_NEWUTS */,
  0x08000000 /* CLONE_NEWIPC */, 0x40000000 /* CLONE_NEWNET */, 0x02000000 /* CLONE_NEWCGROUP */,
};
static int join_fds[JOIN_COUNT] = {-1, -1, -1, -1, -1, -1, -1};
static int join_unshare = 0;
/* Namespaces the executor program creates itself, first thing once mapped (see rl_spawn). */
static int late_unshare = 0;
/* The supervisor's ends, which the child's copy of the descriptor table must drop (or EOF never comes). */
static int parent_fds[3] = {-1, -1, -1};
/* Pipes that become the container's fds 0-2 (rl_stdio_pipes), or -1 to keep rl's own. */
static int stdio_child[3] = {-1, -1, -1};
/* A descriptor of rl's that the next child keeps, at its number, through its exec (rl_pass_fd), or -1. */
static int pass_fd = -1;

/* ---- small string helpers (no libc string functions needed) ---- */
static size_t slen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
static int streq(const char *a, const char *b) { while (*a && *a == *b) { a++; b++; } return *a == *b; }
static long to_long(const char *s) {
  long v = 0; int neg = 0;
  if (*s == '-') { neg = 1; s++; }
  while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
  return neg ? -v : v;
}
static void fd_path(int fd, char *buf) {
  const char *p = "/proc/self/fd/"; int i = 0, j;
  char digits[12]; int n = 0;
  while (p[i]) { buf[i] = p[i]; i++; }
  if (fd == 0) digits[n++] = '0';
  while (fd > 0) { digits[n++] = '0' + fd % 10; fd /= 10; }
  for (j = n - 1; j >= 0; j--) buf[i++] = digits[j];
  buf[i] = 0;
}

static void fail(int op_index, int err) __attribute__((noreturn));
static void fail(int op_index, int err) {
  int msg[2]; msg[0] = op_index; msg[1] = err;
  write(err_fd, msg, sizeof msg);
  _exit(125);
}

/* Open `path` inside the container root: symlinks resolve as if the root were "/". */
static int open_in_root_how(const char *path, int flags, uint64_t resolve) {
  struct open_how how;
  int fd;
  how.flags = flags | O_CLOEXEC; how.mode = 0; how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  while (*path == '/') path++;
  if (!*path) path = ".";
  do fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how); while (fd < 0 && errno == EINTR);
  return fd;
}

static int open_in_root(const char *path, int flags) { return open_in_root_how(path, flags, 0); }

/* mkdir -p inside the root; returns 0 or -1 with errno. */
static int mkdir_in_root(const char *path, int mode) {
  char buf[4096]; size_t i, n = slen(path);
  if (n >= sizeof buf) { errno = 36; return -1; }
  for (i = 0; i <= n; i++) {
    buf[i] = path[i];
    if ((path[i] == '/' || path[i] == 0) && i > 0 && path[i - 1] != '/') {
      char saved = buf[i]; int fd;
      buf[i] = 0;
      fd = open_in_root(buf, O_PATH | O_DIRECTORY);
      if (fd < 0) {
        /* Create the last component inside its (already resolved) parent. */
        size_t k = i; int pfd; const char *base;
        while (k > 0 && buf[k - 1] != '/') k--;
        base = buf + k;
        if (k > 0) { buf[k - 1] = 0; pfd = open_in_root(buf, O_PATH | O_DIRECTORY); buf[k - 1] = '/'; }
        else pfd = open_in_root(".", O_PATH | O_DIRECTORY);
        if (pfd < 0) return -1;
        if (mkdirat(pfd, base, mode) < 0 && errno != EEXIST) { close(pfd); return -1; }
        close(pfd);
      } else close(fd);
      buf[i] = saved;
    }
  }
  return 0;
}

static int split_parent(const char *path, char *parent, const char **base) {
  size_t n = slen(path), k;
  if (n >= 4096) { errno = 36; return -1; }
  for (k = 0; k <= n; k++) parent[k] = path[k];
  k = n;
  while (k > 0 && parent[k - 1] != '/') k--;
  *base = path + k;
  if (k > 0) parent[k - 1] = 0; else { parent[0] = '.'; parent[1] = 0; }
  return 0;
}

static int mkfile_in_root(const char *path) {
  char parent[4096]; const char *base; int pfd, fd;
  fd = open_in_root(path, O_PATH);
  if (fd >= 0) { close(fd); return 0; }
  if (split_parent(path, parent, &base) < 0) return -1;
  if (mkdir_in_root(parent, 0755) < 0) return -1;
  pfd = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (pfd < 0) return -1;
  fd = openat(pfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == 40 /* ELOOP: a dangling symlink, e.g. /etc/resolv.conf -> /run/... */) {
    if (unlinkat(pfd, base, 0) == 0) fd = openat(pfd, base, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  }
  close(pfd);
  if (fd < 0) return errno == EEXIST ? 0 : -1;
  close(fd);
  return 0;
}

static int symlink_in_root(const char *target, const char *path) {
  char parent[4096]; const char *base; int pfd, r;
  if (split_parent(path, parent, &base) < 0) return -1;
  if (mkdir_in_root(parent, 0755) < 0) return -1;
  pfd = open_in_root(parent, O_PATH | O_DIRECTORY);
  if (pfd < 0) return -1;
  r = symlinkat(target, pfd, base);
  close(pfd);
  return (r < 0 && errno != EEXIST) ? -1 : 0;
}

/* Flags a remount must repeat, or the kernel refuses it in a user namespace (locked flags). */
static unsigned long locked_flags(int fd) {
  long st[16]; unsigned long f, out = 0;
  if (fstatfs(fd, st) < 0) return 0;
  f = (unsigned long)st[10];
  if (f & 2) out |= MS_NOSUID;
  if (f & 4) out |= MS_NODEV;
  if (f & 8) out |= MS_NOEXEC;
  if (f & 1024) out |= MS_NOATIME;
  if (f & 2048) out |= MS_NODIRATIME;
  if (f & 4096) out |= MS_RELATIME;
  return out;
}

static int remount_ro_in_root(const char *path, unsigned long extra) {
  char p[64]; int fd = open_in_root(path, O_PATH), r;
  if (fd < 0) return -1;
  fd_path(fd, p);
  r = mount(0, p, 0, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(fd) | extra, 0);
  close(fd);
  return r;
}

/*
 * Remount every mount at or below the mount `fd` is the root of with `flags` added, for kernels
 * without mount_setattr (before 5.12): the mount points come from /proc/self/mountinfo.
 */
static int remount_tree(int fd, unsigned long flags) {
  static char self[4096], info[1 << 20];
  char p[64], mp[4096]; ssize_t n, len = 0, k; int in, r = 0;
  size_t i, j, plen;
  fd_path(fd, p);
  if ((n = readlink(p, self, sizeof self - 1)) < 0) return -1;
  self[n] = 0; plen = (size_t)n;
  if ((in = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) < 0) return -1;
  while (len < (ssize_t)sizeof info - 1 && (k = read(in, info + len, sizeof info - 1 - len)) > 0) len += k;
  close(in);
  if (len == (ssize_t)sizeof info - 1) { errno = 7; return -1; } /* E2BIG: a mount might go unseen */
  info[len] = 0;
  for (i = 0; i < (size_t)len && r == 0; ) {
    /* Field 5 is the mount point, with space, tab, newline and backslash as octal escapes. */
    int field = 0;
    while (i < (size_t)len && field < 4) { if (info[i] == ' ') field++; i++; }
    for (j = 0; i < (size_t)len && info[i] != ' ' && info[i] != '\n' && j < sizeof mp - 1; i++) {
      if (info[i] == '\\' && i + 3 < (size_t)len) { mp[j++] = (char)((info[i + 1] - '0') * 64 + (info[i + 2] - '0') * 8 + (info[i + 3] - '0')); i += 3; }
      else mp[j++] = info[i];
    }
    mp[j] = 0;
    while (i < (size_t)len && info[i] != '\n') i++;
    i++;
    if (j < plen || (j > plen && mp[plen] != '/' && plen > 1)) continue;
    for (k = 0; k < (ssize_t)plen && mp[k] == self[k]; k++) {}
    if (k != (ssize_t)plen) continue;
    if ((in = open(mp, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) { r = -1; break; }
    fd_path(in, p);
    r = mount(0, p, 0, MS_REMOUNT | MS_BIND | flags | locked_flags(in), 0);
    close(in);
  }
  return r;
}

/* Add MS_RDONLY/NOSUID/NODEV/NOEXEC to the mount `fd` is the root of and to every mount below it. */
static int set_flags_recursive(int fd, unsigned long flags) {
  struct mount_attr a;
  a.attr_set = 0; a.attr_clr = 0; a.propagation = 0; a.userns_fd = 0;
  if (flags & MS_RDONLY) a.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a.attr_set |= MOUNT_ATTR_NOEXEC;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) == 0) return 0;
  if (errno != ENOSYS) return -1;
  return remount_tree(fd, flags);
}

/* The directory or file `fd` is on proc: a mount there, found through a symlink of the image's, would
 * cover the container's /proc (its masks and read-only paths) as `-v` onto /proc would. */
static int on_proc(int fd) {
  long st[16];
  return fstatfs(fd, st) == 0 && st[0] == 0x9fa0 /* PROC_SUPER_MAGIC */;
}

static int mount_in_root(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data) {
  char p[64]; int fd, r;
  /* As runc: proc and sysfs (and here /dev) go on an ordinary directory, never through a symlink of the
   * image's. */
  if (streq(fstype, "proc") || streq(fstype, "sysfs") || streq(target, "/dev")) {
    fd = open_in_root_how(target, O_PATH, RESOLVE_NO_SYMLINKS);
    if (fd < 0 && errno == ELOOP) return -1;
    if (fd >= 0) close(fd);
  }
  if (mkdir_in_root(target, 0755) < 0) return -1;
  fd = open_in_root(target, O_PATH | O_DIRECTORY);
  if (fd < 0) return -1;
  if (!streq(fstype, "proc") && on_proc(fd)) { close(fd); errno = 18 /* EXDEV */; return -1; }
  fd_path(fd, p);
  r = mount(src, p, fstype, flags, (data && *data) ? data : 0);
  close(fd);
  return r;
}

static int bind_in_root(const char *src, const char *target, unsigned long flags, int recursive) {
  char p[64]; int fd, srcfd, r, isdir;
  srcfd = open(src, O_PATH | O_CLOEXEC);
  if (srcfd < 0) return -1;
  isdir = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (isdir >= 0) { close(isdir); r = mkdir_in_root(target, 0755); }
  else r = mkfile_in_root(target);
  close(srcfd);
  if (r < 0) return -1;
  fd = open_in_root(target, O_PATH);
  if (fd < 0) return -1;
  if (on_proc(fd)) { close(fd); errno = 18 /* EXDEV */; return -1; }
  fd_path(fd, p);
  r = mount(src, p, 0, MS_BIND | (recursive ? MS_REC : 0), 0);
  close(fd);
  if (r < 0) return -1;
  if (flags) {
    fd = open_in_root(target, O_PATH);
    if (fd < 0) return -1;
    fd_path(fd, p);
    /* A recursive bind's submounts get the flags too: read-only means read-only all the way down. */
    if (recursive) r = set_flags_recursive(fd, flags);
    else r = mount(0, p, 0, MS_REMOUNT | MS_BIND | flags | locked_flags(fd), 0);
    close(fd);
  }
  return r;
}

/* Bind a path of the container onto itself, read-only, recursively: both ends resolved in the root
 * (an image's /proc may be a symlink to a host path). */
static int readonly_in_root(const char *path) {
  char p[64]; int fd, r;
  if ((fd = open_in_root(path, O_PATH)) < 0) return -1;
  fd_path(fd, p);
  r = mount(p, p, 0, MS_BIND | MS_REC, 0);
  close(fd);
  if (r < 0 || (fd = open_in_root(path, O_PATH)) < 0) return -1;
  r = set_flags_recursive(fd, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  close(fd);
  return r;
}

/* Hide a path of the container: /dev/null over a file, an empty read-only tmpfs over a directory, and
 * nothing where the kernel lacks the path. */
static int mask_in_root(const char *path) {
  char p[64]; int fd, r;
  fd = open_in_root(path, O_PATH | O_DIRECTORY);
  if (fd >= 0) {
    fd_path(fd, p);
    r = mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0");
  } else {
    if (errno != ENOTDIR) return errno == ENOENT ? 0 : -1;
    if ((fd = open_in_root(path, O_PATH)) < 0) return -1;
    fd_path(fd, p);
    r = mount("/dev/null", p, 0, MS_BIND, 0);
  }
  close(fd);
  return r;
}

static int sysfs_in_root(const char *target) {
  unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (mount_in_root("sysfs", target, "sysfs", ro, 0) == 0) return 0;
  if (errno != EPERM) return -1;
  /* Without a network namespace of its own the kernel refuses a new sysfs: show the host's, read-only. */
  return bind_in_root("/sys", target, MS_RDONLY, 1);
}

#define TUNSETIFF 0x400454ca
#define TUNSETPERSIST 0x400454cb
#define IFF_TAP 0x0002
#define IFF_NO_PI 0x1000

/*
 * Create tap0 in the new network namespace, persistent, for slirp4netns to attach to. A tap that
 * slirp4netns creates itself is unregistered when slirp4netns closes it, which holds its exit for
 * ~20 ms of RCU grace periods; a persistent one goes with the namespace, asynchronously. Returns 0 or
 * an errno (then slirp4netns makes its own).
 */
static int make_persistent_tap(void) {
  struct ifreq ifr; int i, fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), e = 0;
  if (fd < 0) return errno;
  for (i = 0; i < (int)sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  ifr.name[0] = 't'; ifr.name[1] = 'a'; ifr.name[2] = 'p'; ifr.name[3] = '0';
  ifr.flags = IFF_TAP | IFF_NO_PI;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) e = errno;
  close(fd);
  return e;
}

/*
 * Ask for tap0's link state (ethtool GLINK), which makes the kernel apply the carrier change of
 * slirp4netns attaching at once: otherwise it is applied by linkwatch up to a second later, and until
 * then the device has no carrier and its routes are unusable ("Network unreachable").
 */
static void sync_tap_link(void) {
  struct { char name[16]; void *data; char pad[16]; } ifr;
  struct { uint32_t cmd, data; } ev;
  int i, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  for (i = 0; i < (int)sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  ifr.name[0] = 't'; ifr.name[1] = 'a'; ifr.name[2] = 'p'; ifr.name[3] = '0';
  ev.cmd = 0x0000000a; /* ETHTOOL_GLINK */ ev.data = 0;
  ifr.data = &ev;
  ioctl(s, 0x8946 /* SIOCETHTOOL */, &ifr);
  close(s);
}

static int loopback_up(void) {
  struct ifreq ifr; int i, s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  for (i = 0; i < (int)sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  ifr.name[0] = 'l'; ifr.name[1] = 'o';
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) { close(s); return -1; }
  ifr.flags |= IFF_UP;
  i = ioctl(s, SIOCSIFFLAGS, &ifr);
  close(s);
  return i;
}

static int send_fd(int sock, int fd) {
  char data = 'T';
  struct iovec iov; struct msghdr msg;
  unsigned long cbuf[4]; /* cmsghdr (len, level, type) + one int, 8-byte aligned */
  int i;
  iov.base = &data; iov.len = 1;
  for (i = 0; i < 4; i++) cbuf[i] = 0;
  cbuf[0] = 16 + sizeof(int);                 /* cmsg_len */
  ((int *)cbuf)[2] = SOL_SOCKET;              /* cmsg_level */
  ((int *)cbuf)[3] = SCM_RIGHTS;              /* cmsg_type */
  ((int *)cbuf)[4] = fd;
  msg.name = 0; msg.namelen = 0; msg.iov = &iov; msg.iovlen = 1;
  msg.control = cbuf; msg.controllen = 24; msg.flags = 0;
  return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

static int console_setup(void) {
  int master, slave, n = 0, unlock = 0;
  char path[32] = "/dev/pts/"; char digits[12]; int i = 9, j = 0;
  master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return -1;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) return -1;
  if (n == 0) digits[j++] = '0';
  while (n > 0) { digits[j++] = '0' + n % 10; n /= 10; }
  while (j > 0) path[i++] = digits[--j];
  path[i] = 0;
  slave = open(path, O_RDWR | O_NOCTTY);
  if (slave < 0) return -1;
  /* The container's first process made its own session already (child_main); a forked workload has not. */
  if (setsid() < 0 && errno != EPERM) return -1;
  if (ioctl(slave, TIOCSCTTY, 0) < 0) return -1;
  if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0) return -1;
  if (slave > 2) close(slave);
  if (send_fd(console_fd, master) < 0) return -1;
  close(master);
  close(console_fd);
  console_fd = -1;
  return 0;
}

/* Bounding and ambient sets always; effective/permitted only for a workload that stays root (a switch to
 * another uid clears them anyway, and capset could not raise them afterwards). */
static int set_caps(uint64_t eff, uint64_t inh) {
  uint32_t hdr[2]; uint32_t data[6];
  hdr[0] = 0x20080522; hdr[1] = 0;
  data[0] = (uint32_t)eff; data[1] = (uint32_t)eff; data[2] = (uint32_t)inh;       /* effective, permitted, inheritable */
  data[3] = (uint32_t)(eff >> 32); data[4] = (uint32_t)(eff >> 32); data[5] = (uint32_t)(inh >> 32);
  return syscall(SYS_capset, hdr, data) < 0 ? -1 : 0;
}

/* Capabilities a workload that is not root keeps (--cap-add): OP_USER raises them as ambient ones. */
static uint64_t user_ambient = 0;

static int drop_caps(uint64_t keep, int stays_root, uint64_t ambient) {
  int cap;
  for (cap = 0; cap < 64; cap++) {
    if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != 22) return -1;
    /* Capabilities this kernel does not have (ALL names the newest ones) cannot be raised. */
    if ((keep & (1ULL << cap)) && prctl(23 /* PR_CAPBSET_READ */, cap, 0, 0, 0) != 1) keep &= ~(1ULL << cap);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (!stays_root) {
    /* The uid switch would clear the permitted set: keep it for the ambient ones. */
    user_ambient = ambient & keep;
    return user_ambient && prctl(8 /* PR_SET_KEEPCAPS */, 1, 0, 0, 0) < 0 ? -1 : 0;
  }
  return set_caps(keep, 0);
}

/* After the switch to a user other than root: only the ambient capabilities stay, through exec. */
static int raise_ambient(void) {
  int cap;
  if (!user_ambient) return 0;
  if (set_caps(user_ambient, user_ambient) < 0) return -1;
  for (cap = 0; cap < 64; cap++)
    if ((user_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, 2 /* PR_CAP_AMBIENT_RAISE */, cap, 0, 0) < 0) return -1;
  return prctl(8 /* PR_SET_KEEPCAPS */, 0, 0, 0, 0);
}

/* Install a seccomp filter given as hex text (the op list carries NUL-terminated strings). Without
 * no_new_privs the kernel asks for CAP_SYS_ADMIN in this user namespace: before the capabilities go. */
/* A BPF program (struct sock_filter[], 8 bytes each) of `n` bytes, as the op list carries it. */
static int load_seccomp(const unsigned char *prog, unsigned int n) {
  struct { unsigned short len; const void *filter; } fprog;
  if (n == 0 || n % 8 || n / 8 > 0xffff) { errno = 22; return -1; }
  fprog.len = (unsigned short)(n / 8); fprog.filter = prog;
  return prctl(22 /* PR_SET_SECCOMP */, 2 /* SECCOMP_MODE_FILTER */, &fprog, 0, 0);
}

static void reset_signals(void) {
  struct sigact sa; unsigned long empty[16]; int i, sig;
  for (i = 0; i < 16; i++) empty[i] = 0;
  sa.handler = 0; sa.flags = 0; sa.restorer = 0;
  for (i = 0; i < 16; i++) sa.mask[i] = 0;
  for (sig = 1; sig < 65; sig++) if (sig != 9 && sig != 19) syscall(SYS_rt_sigaction, sig, &sa, 0, 8);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, 0, 8);
}

/* A change of uid or gid clears the parent-death signal: set it again, and end here if the supervisor
 * died meanwhile (its end of the error pipe is gone then, which poll reports as POLLERR). Without it a
 * workload of another user would outlive a SIGKILLed rl, and so would its fuse-overlayfs. */
static int rearm_pdeathsig(void) {
  struct { int fd; short events, revents; } pfd;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return -1;
  pfd.fd = err_fd; pfd.events = 0; pfd.revents = 0;
  if (poll(&pfd, 1, 0) == 1 && (pfd.revents & 8 /* POLLERR */)) _exit(125);
  return 0;
}

/* fds 0-2 on /dev/null (the container's, once its mount namespace is joined). */
static int null_stdio(void) {
  int fd = open("/dev/null", O_RDWR), i;
  if (fd < 0) return -1;
  for (i = 0; i < 3; i++) if (fd != i && dup2(fd, i) < 0) { if (fd > 2) close(fd); return -1; }
  if (fd > 2) close(fd);
  return 0;
}

/* ---- --init: a tiny PID 1 that forwards signals to the workload and reaps everything ---- */
static int init_child = -1;
static void init_forward(int sig) { if (init_child > 0) kill(init_child, sig); }

static void run_init(void) {
  int pid, status, w, sig;
  pid = raw_fork();
  if (pid < 0) fail(0, errno);
  if (pid == 0) {
    /* The workload goes on to exec, the leader of a session of its own (the init's may be outside the
     * container's pid namespace: exec's). */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    setsid();
    return;
  }
  init_child = pid;
  close(err_fd);                        /* the workload's exec, not ours, ends the supervisor's wait */
  if (console_fd >= 0) close(console_fd); /* and its console, if it asks for one */
  /* The init writes nothing: it keeps no copy of rl's fds 0-2 (with -t, the user's terminal). */
  null_stdio();
  for (sig = 1; sig < 32; sig++)
    if (sig != SIGKILL && sig != 19 && sig != SIGCHLD) signal(sig, init_forward);
  for (;;) {
    w = waitpid(-1, &status, 0);
    if (w == pid) {
      if ((status & 0x7f) == 0) _exit((status >> 8) & 0xff);
      _exit(128 + (status & 0x7f));
    }
    if (w < 0 && errno != EINTR) _exit(125);
  }
}

/*
 * exec -d: the process goes on alone. This one (outside the container's pid namespace) forks a middle
 * one and reaps it; the middle one forks the one that goes on and exits at once, which makes the init of
 * the pid namespace it was forked in (the container's) that one's parent. Only the last writes to the
 * error pipe: its exec, or its failure, ends rl's wait.
 */
static void detach(int index) {
  int pid = raw_fork(), status;
  if (pid < 0) fail(index, errno);
  if (pid > 0) {
    close(err_fd);
    if (console_fd >= 0) close(console_fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    _exit(0);
  }
  pid = raw_fork();
  if (pid < 0) fail(index, errno);
  if (pid > 0) _exit(0);
  setsid();
}

/* ---- PATH search as execvpe does, but with the container's PATH ---- */
static int exec_search(char **argv, char **envp) {
  const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", *file = argv[0];
  char buf[4096]; int i, saw_eacces = 0, last = ENOENT;
  for (i = 0; envp[i]; i++)
    if (envp[i][0] == 'P' && envp[i][1] == 'A' && envp[i][2] == 'T' && envp[i][3] == 'H' && envp[i][4] == '=') path = envp[i] + 5;
  for (i = 0; file[i]; i++) if (file[i] == '/') { execve(file, argv, envp); return errno; }
  while (*path) {
    size_t n = 0, f = slen(file);
    while (path[n] && path[n] != ':') n++;
    if (n + f + 2 < sizeof buf) {
      size_t k;
      for (k = 0; k < n; k++) buf[k] = path[k];
      if (n == 0) buf[n++] = '.';
      buf[n] = '/';
      for (k = 0; k <= f; k++) buf[n + 1 + k] = file[k];
      execve(buf, argv, envp);
      last = errno;
      if (last == EACCES) saw_eacces = 1;
      else if (last != ENOENT && last != 20 /* ENOTDIR */) return last;
    }
    path += n;
    if (*path == ':') path++;
  }
  return saw_eacces ? EACCES : last;
}

/*
 * Run a helper that mounts a filesystem and leaves its daemon behind (fuse-overlayfs), then go on in a
 * copy of this mount namespace, the mount included. The daemon stays in the old namespace, whose root is
 * never pivoted: pivot_root moves every process of a namespace whose root or cwd is the old root, and a
 * daemon whose "/" became its own mount would resolve its lower and upper paths through itself, waiting
 * for ever on the first write. It lives in the container's pid namespace: it ends with the container.
 */
static int spawn_wait(const char **a, int argc) {
  char *argv[64], said[4096]; int i, n = argc < 63 ? argc : 63, p[2], pid, status = 0; long got = 0; ssize_t k;
  for (i = 0; i < n; i++) argv[i] = (char *)a[i];
  argv[n] = 0;
  /* Its stderr goes to a pipe, shown only when it fails (fuse-overlayfs 1.10 always warns about lazytime).
   * The daemon it leaves has its stdio on /dev/null: only what it says before that lands here. */
  if (pipe2(p, O_CLOEXEC | 04000 /* O_NONBLOCK */) < 0) return -1;
  pid = raw_fork();
  if (pid == 0) { char *envp[] = {0}; dup2(p[1], 2); execve(argv[0], argv, envp); _exit(127); }
  close(p[1]);
  if (pid < 0 || waitpid(pid, &status, 0) < 0) { close(p[0]); return -1; }
  while (got < (long)sizeof said && (k = read(p[0], said + got, sizeof said - got)) > 0) got += k;
  close(p[0]);
  if (status != 0) {
    write(2, said, got);
    errno = status & 0x7f ? 4 : ((status >> 8) & 0xff) == 127 ? ENOENT : 5 /* EIO */;
    return -1;
  }
  return unshare(0x00020000 /* CLONE_NEWNS */);
}

/* Ops are encoded as: u8 opcode, u16 argc (little-endian), then argc arguments, each a u32 length
 * (little-endian), its bytes and a NUL (text is then a C string; binary, a seccomp program, has its
 * length). NULL when an argument runs past `end` or lacks its NUL. */
static const char *next_args(const char *p, const char *end, const char **args, unsigned int *lens, int argc) {
  int i;
  for (i = 0; i < argc; i++) {
    unsigned int n;
    if (end - p < 5) return 0;
    n = (unsigned char)p[0] | (unsigned char)p[1] << 8 | (unsigned char)p[2] << 16 | (unsigned int)(unsigned char)p[3] << 24;
    if ((unsigned long)(end - p - 5) < n || p[4 + n] != 0) return 0;
    args[i] = p + 4; lens[i] = n;
    p += 4 + n + 1;
  }
  return p;
}

static void run_ops(const char *ops, int len) {
  const char *p = ops, *end = ops + len;
  static const char *a[4096];
  static unsigned int lens[4096];
  int index = 0;
  while (p < end) {
    /* The high bit marks an optional op: its failure is ignored (masking paths that may not exist). */
    int op = (unsigned char)p[0] & 0x7f, optional = (unsigned char)p[0] & 0x80;
    int argc = (unsigned char)p[1] | ((unsigned char)p[2] << 8), r = 0;
    if (argc > 4096) fail(index, 7 /* E2BIG */);
    p = next_args(p + 3, end, a, lens, argc);
    if (!p) fail(index, 22 /* EINVAL: a malformed op list */);
    switch (op) {
    case OP_MOUNT:
      r = mount(*a[0] ? a[0] : 0, a[1], *a[2] ? a[2] : 0, to_long(a[3]), *a[4] ? a[4] : 0);
      break;
    case OP_MOUNT_IN: r = mount_in_root(a[0], a[1], a[2], to_long(a[3]), a[4]); break;
    case OP_BIND_IN: r = bind_in_root(a[0], a[1], to_long(a[2]), (int)to_long(a[3])); break;
    case OP_MKDIR_IN: r = mkdir_in_root(a[0], (int)to_long(a[1])); break;
    case OP_MKFILE_IN: r = mkfile_in_root(a[0]); break;
    case OP_SYMLINK_IN: r = symlink_in_root(a[0], a[1]); break;
    case OP_SET_ROOT:
      if (root_fd >= 0) close(root_fd);
      root_fd = open(a[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
      r = root_fd < 0 ? -1 : 0;
      break;
    case OP_REMOUNT_RO_IN: r = remount_ro_in_root(a[0], 0); break;
    case OP_SYSFS_IN: r = sysfs_in_root(a[0]); break;
    case OP_MASK_IN: r = mask_in_root(a[0]); break;
    case OP_READONLY_IN: r = readonly_in_root(a[0]); break;
    case OP_UNSHARE: r = unshare((int)to_long(a[0])); break;
    case OP_PIVOT:
      if (fchdir(root_fd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) r = -1;
      break;
    case OP_HOSTNAME: r = sethostname(a[0], slen(a[0])); break;
    case OP_LOOPBACK_UP: r = loopback_up(); break;
    case OP_CHDIR: r = chdir(a[0]); break;
    case OP_SPAWN_WAIT: r = spawn_wait(a, argc); break;
    case OP_CONSOLE: r = console_setup(); break;
    case OP_STDIN_NULL: {
      int fd = open("/dev/null", O_RDONLY);
      if (fd < 0 || dup2(fd, 0) < 0) r = -1;
      if (fd > 0) close(fd);
      break;
    }
    case OP_SETSID: setsid(); break;
    case OP_DROP_CAPS: {
      uint64_t keep = 0, ambient = 0; const char *s = a[0];
      while (*s >= '0' && *s <= '9') keep = keep * 10 + (uint64_t)(*s++ - '0');
      for (s = argc > 2 ? a[2] : ""; *s >= '0' && *s <= '9'; s++) ambient = ambient * 10 + (uint64_t)(*s - '0');
      r = drop_caps(keep, a[1][0] == '1', ambient);
      break;
    }
    case OP_USER: {
      /* Raw syscalls: glibc's wrappers broadcast the change to every thread it believes the process
       * has (Bun's, copied by clone) under a lock that one of them may have held at clone time. */
      uint32_t groups[200]; long id; int i, n = (int)to_long(a[2]);
      if (n > 200) n = 200;
      for (i = 0; i < n; i++) groups[i] = (uint32_t)to_long(a[3 + i]);
      /* n = -1: keep the supplementary groups rl has (--group-add keep-groups). */
      if (n >= 0 && syscall(SYS_setgroups, (long)n, groups) < 0 && errno != EPERM) { r = -1; break; }
      id = to_long(a[1]);
      if (syscall(SYS_setresgid, id, id, id) < 0) { r = -1; break; }
      id = to_long(a[0]);
      r = (int)syscall(SYS_setresuid, id, id, id);
      if (r == 0) r = rearm_pdeathsig();
      if (r == 0) r = raise_ambient();
      break;
    }
    case OP_UMASK: umask((unsigned int)to_long(a[0])); break;
    case OP_RLIMIT: {
      uint64_t lim[2];
      lim[0] = to_long(a[1]) < 0 ? ~0ULL : (uint64_t)to_long(a[1]);
      lim[1] = to_long(a[2]) < 0 ? ~0ULL : (uint64_t)to_long(a[2]);
      r = (int)syscall(SYS_prlimit64, 0L, to_long(a[0]), lim, 0L);
      break;
    }
    case OP_OPEN_FD: {
      int fd = open(a[0], O_PATH | O_CLOEXEC);
      if (fd < 0) { r = -1; break; }
      r = dup3(fd, (int)to_long(a[1]), O_CLOEXEC) < 0 ? -1 : 0;
      close(fd);
      break;
    }
    case OP_SYSCTL_IN: {
      int fd = open_in_root(a[0], O_WRONLY | O_NOFOLLOW);
      size_t n = slen(a[1]);
      if (fd < 0) { r = -1; break; }
      r = write(fd, a[1], n) == (ssize_t)n ? 0 : -1;
      close(fd);
      break;
    }
    case OP_NO_NEW_PRIVS: r = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); break;
    case OP_SECCOMP: r = load_seccomp((const unsigned char *)a[0], lens[0]); break;
    case OP_INIT: run_init(); break;
    case OP_NULL_STDIO: r = null_stdio(); break;
    case OP_DETACH: detach(index); break;
    case OP_EXEC: {
      /* args: argc, argv..., envc, env... */
      static char *argv[2048], *envp[2048];
      int i, n = (int)to_long(a[0]), m = (int)to_long(a[1 + n]);
      if (n > 2047 || m > 2047) fail(index, 7 /* E2BIG */);
      for (i = 0; i < n; i++) argv[i] = (char *)a[1 + i];
      argv[n] = 0;
      for (i = 0; i < m; i++) envp[i] = (char *)a[2 + n + i];
      envp[m] = 0;
      fail(index, exec_search(argv, envp));
    }
    default: errno = 22; r = -1;
    }
    if (r < 0 && !optional) fail(index, errno);
    index++;
  }
  fail(index, 0);
}

/* Close every descriptor from 3 up but the executor's own: sync, err, console, the namespaces to join
 * and a descriptor passed through the exec (rl_pass_fd). */
static void close_all_but_ours(void) {
  int keep[4 + JOIN_COUNT], i, j, lo = 3, n = 4 + JOIN_COUNT;
  keep[0] = sync_fd; keep[1] = err_fd; keep[2] = console_fd; keep[3] = pass_fd;
  for (i = 0; i < JOIN_COUNT; i++) keep[4 + i] = join_fds[i];
  for (i = 1; i < n; i++) for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
  for (i = 0; i < n; i++) {
    if (keep[i] < lo) continue;
    if (keep[i] > lo) syscall(SYS_close_range, lo, keep[i] - 1, 0);
    lo = keep[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

static int joining(void) {
  int i;
  for (i = 0; i < JOIN_COUNT; i++) if (join_fds[i] >= 0) return 1;
  return 0;
}

/*
 * Join the namespaces of join_fds (the user namespace first: rights over the others come from it), then
 * create the rest. A pid namespace, joined or new, only takes children: a new one's first process is
 * forked here, and this process stays outside as a proxy that forwards signals and exits as the
 * container's PID 1 does (run_init does exactly that); a joined one's (exec) by the op list's init or
 * detach, once the process is the container's user.
 */
static void join_namespaces(void) {
  int i;
  /* Joining a running container (exec): until its exec, no process of the container may ptrace this one
   * or open its /proc files (its descriptors, its exe: the executor on the host). */
  if (join_fds[2] >= 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(START_JOIN_FAILED, errno);
  for (i = 0; i < JOIN_COUNT; i++) {
    if (join_fds[i] < 0) continue;
    if (setns(join_fds[i], join_types[i]) < 0) fail(START_JOIN_FAILED, errno);
    close(join_fds[i]);
    join_fds[i] = -1;
  }
  if (join_unshare && unshare(join_unshare) < 0) fail(START_JOIN_FAILED, errno);
  if (join_unshare & 0x20000000 /* CLONE_NEWPID */) run_init();
}

/* read() or write() exactly n bytes; 0 on success. */
static int transfer_full(int fd, char *buf, long n, int writing) {
  while (n > 0) {
    ssize_t k = writing ? write(fd, buf, (size_t)n) : read(fd, buf, (size_t)n);
    if (k < 0 && errno == 4 /* EINTR */) continue;
    if (k <= 0) return -1;
    buf += k; n -= k;
  }
  return 0;
}

/* Make the pipes of rl_stdio_pipes the process's fds 0-2 (dup2 clears their close-on-exec). */
static void take_stdio(void) {
  int i;
  for (i = 0; i < 3; i++) if (stdio_child[i] >= 0 && dup2(stdio_child[i], i) < 0) _exit(125);
}

static int child_main(void *arg) {
  int len, i, make_tap = arg != 0;
  char *ops;
  for (i = 0; i < 3; i++) if (parent_fds[i] >= 0) close(parent_fds[i]);
  take_stdio();
  /* A session of its own, with or without -t: the user's terminal is never its controlling one, so
   * /dev/tty cannot be opened (ENXIO) and the user's session cannot be signalled through it. */
  setsid();
  reset_signals();
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Bun's own descriptors must not reach the workload, nor stay open here until the exec (a bound
   * host port, the exit fd of slirp4netns): close all but ours. */
  close_all_but_ours();
  if (pass_fd >= 0) fcntl(pass_fd, 2 /* F_SETFD */, 0);
  if (late_unshare && unshare(late_unshare) < 0) fail(START_RELEASE_FAILED, errno);
  if (make_tap) {
    /* Done before the release and reported at once: slirp4netns starts only after this message. */
    int msg[2];
    msg[0] = START_TAP_REPORT; msg[1] = make_persistent_tap();
    if (transfer_full(err_fd, (char *)msg, sizeof msg, 1) < 0) _exit(125);
  }
  /* The release: the length of the op list, then the list. EOF: the supervisor went away, or failed
   * to map ids. */
  if (transfer_full(sync_fd, (char *)&len, sizeof len, 0) < 0 || len <= 0) _exit(125);
  ops = mmap(0, (size_t)len, 3 /* RW */, 0x22 /* PRIVATE|ANON */, -1, 0);
  if (ops == (char *)-1) fail(START_RELEASE_FAILED, errno);
  if (transfer_full(sync_fd, ops, len, 0) < 0) _exit(125);
  close(sync_fd);
  if (make_tap) sync_tap_link();
  /* A fresh session keyring, as runc does: the user's session keyring (its keys) stays out of reach.
   * ENOSYS (no keys in the kernel) and EPERM (a seccomp filter around rl, as docker's: inherited, it
   * keeps the container from keyctl too) leave nothing to protect. */
  if (syscall(SYS_keyctl, (long)KEYCTL_JOIN_SESSION_KEYRING, 0L) < 0 && errno != ENOSYS && errno != EPERM) fail(START_KEYRING_FAILED, errno);
  if (joining()) join_namespaces();
  run_ops(ops, len);
  return 125;
}

/*
 * The executor as a program of its own (built from this file with -DRL_EXECUTOR_MAIN when the host has a
 * C compiler): the container's first process is then cloned like vfork and execs it at once, so Bun's
 * memory is neither copied (its page tables, ~1 ms) nor shared with a child that waits.
 * argv: sync err console join_fds[0..6] join_unshare options (descriptors and flags, decimal;
 * options: 1 make tap0, 2 create the network namespace itself).
 */
#define START_WORDS (3 + JOIN_COUNT + 2)
#define START_FDS (3 + JOIN_COUNT)
struct exec_start { const char *path; char *argv[START_WORDS + 2]; char words[START_WORDS][16]; int fds[START_FDS]; int err; };

static void put_long(char *buf, long v) {
  char digits[16]; int n = 0, i = 0;
  if (v < 0) { buf[i++] = '-'; v = -v; }
  do digits[n++] = '0' + v % 10; while ((v /= 10) > 0);
  while (n) buf[i++] = digits[--n];
  buf[i] = 0;
}

/* Runs on a small stack in Bun's memory while Bun waits (CLONE_VFORK): syscalls only, then exec. */
static int exec_child(void *arg) {
  struct exec_start *s = arg;
  static char *const no_env[] = {0};
  int i;
  for (i = 0; i < START_FDS; i++) if (s->fds[i] >= 0) fcntl(s->fds[i], 2 /* F_SETFD */, 0);
  take_stdio();
  execve(s->path, s->argv, no_env);
  s->err = errno;
  _exit(127);
}

#if defined(RL_EXECUTOR_MAIN) && !defined(RL_MONITOR_PROGRAM) /* monitor.c has a main of its own */
/*
 * Exec'd before its id maps exist, the program holds no capability in its new user namespace. It waits
 * for rl_mapped, then execs itself again, now as the namespace's root with every capability, as a
 * final argument "mapped" tells: that second start is the child_main of the copy of rl. A process that
 * joins a user namespace gets every capability in it by setns: it goes on at once.
 */
int main(int argc, char **argv) {
  static char *const no_env[] = {0};
  char *again[START_WORDS + 3];
  int i, go = 0;
  long options;
  if (argc != START_WORDS + 1 && argc != START_WORDS + 2) return 125;
  sync_fd = (int)to_long(argv[1]); err_fd = (int)to_long(argv[2]); console_fd = (int)to_long(argv[3]);
  for (i = 0; i < JOIN_COUNT; i++) join_fds[i] = (int)to_long(argv[4 + i]);
  join_unshare = (int)to_long(argv[4 + JOIN_COUNT]);
  options = to_long(argv[5 + JOIN_COUNT]);
  if (argc == START_WORDS + 2 || join_fds[0] >= 0) {
    /* As in the copy of rl: the error pipe and the console socket close at the workload's exec. */
    fcntl(err_fd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
    if (console_fd >= 0) fcntl(console_fd, 2, 1);
    if (options & 2) late_unshare = 0x40000000 /* CLONE_NEWNET */;
    return child_main(options & 1 ? (void *)1 : 0);
  }
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (transfer_full(sync_fd, (char *)&go, sizeof go, 0) < 0 || go != 1) _exit(125);
  for (i = 0; i < argc; i++) again[i] = argv[i];
  again[argc] = "mapped"; again[argc + 1] = 0;
  execve(argv[0], again, no_env);
  fail(START_RELEASE_FAILED, errno);
}
#endif

/* rl's copies of the child's ends of the rl_stdio_pipes pipes: closed once the child has its own. */
static void drop_stdio(void) {
  int i;
  for (i = 0; i < 3; i++) if (stdio_child[i] >= 0) { close(stdio_child[i]); stdio_child[i] = -1; }
}

/*
 * Clone the container's first process, which waits for rl_release. out[0]: write end to release it,
 * out[1]: read end of the error pipe, out[2]: the supervisor's end of the console socket (or -1).
 * join: JOIN_COUNT fds of namespaces to join instead of creating them (-1 where none, see join_fds: a
 * running container's for exec, another container's user and network ones for --network container:X),
 * or 0. make_tap: create a persistent tap0 first and report it (rl_tap_result).
 * program: the executor program to exec in the child (see exec_child), or 0 to run child_main in a
 * copy of this process. Returns the pid, or -errno.
 */
int rl_spawn(int flags, int want_console, int *out, const int *join, int make_tap, const char *program) {
  int syncp[2], errp[2], cons[2] = {-1, -1}, pid, e, i, joined = 0;
  size_t stack_size = program ? 1 << 16 : 1 << 20;
  char *stack;
  struct exec_start start;
  if (pipe2(syncp, O_CLOEXEC) < 0) { e = errno; drop_stdio(); return -e; }
  if (pipe2(errp, O_CLOEXEC) < 0) { e = errno; close(syncp[0]); close(syncp[1]); drop_stdio(); return -e; }
  if (want_console && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cons) < 0) {
    e = errno; close(syncp[0]); close(syncp[1]); close(errp[0]); close(errp[1]); drop_stdio(); return -e;
  }
  stack = mmap(0, stack_size, 3 /* RW */, 0x22 | 0x20000 /* PRIVATE|ANON|STACK */, -1, 0);
  if (stack == (char *)-1) {
    e = errno; close(syncp[0]); close(syncp[1]); close(errp[0]); close(errp[1]);
    if (cons[0] >= 0) { close(cons[0]); close(cons[1]); }
    drop_stdio();
    return -e;
  }
  /* The program is exec'd with its descriptors by number (exec_start): it has no word for a passed one. */
  if (pass_fd >= 0 && program) {
    e = 22 /* EINVAL */; munmap(stack, stack_size); close(syncp[0]); close(syncp[1]); close(errp[0]); close(errp[1]);
    if (cons[0] >= 0) { close(cons[0]); close(cons[1]); }
    drop_stdio(); pass_fd = -1;
    return -e;
  }
  join_unshare = 0;
  for (i = 0; i < JOIN_COUNT; i++) {
    join_fds[i] = join ? join[i] : -1;
    if (join_fds[i] >= 0) joined |= join_types[i];
  }
  if (joined) {
    /* The namespaces are joined (and the others created) by the child itself: see join_namespaces. */
    join_unshare = flags & ~joined;
    flags = 0;
  }
  sync_fd = syncp[0]; err_fd = errp[1]; console_fd = cons[1];
  parent_fds[0] = syncp[1]; parent_fds[1] = errp[0]; parent_fds[2] = cons[0];
  if (program) {
    long values[START_WORDS];
    unsigned long all[16], old[16];
    values[0] = sync_fd; values[1] = err_fd; values[2] = console_fd;
    for (i = 0; i < JOIN_COUNT; i++) values[3 + i] = join_fds[i];
    values[3 + JOIN_COUNT] = join_unshare; values[4 + JOIN_COUNT] = make_tap ? 1 : 0;
    /* A new network namespace costs ~0.3 ms to create: the program makes it once mapped (it is root
     * in its user namespace then), while rl goes on, instead of clone doing it while rl waits. */
    if (!joined && (flags & 0x40000000)) { flags &= ~0x40000000; values[4 + JOIN_COUNT] |= 2; }
    start.path = program; start.argv[0] = (char *)program; start.err = 0;
    for (i = 0; i < START_WORDS; i++) { put_long(start.words[i], values[i]); start.argv[i + 1] = start.words[i]; }
    start.argv[START_WORDS + 1] = 0;
    for (i = 0; i < START_FDS; i++) start.fds[i] = (int)values[i];
    /* No handler of Bun's may run in the child before its exec: it shares Bun's memory. The mask is
     * kept through the exec; the executor's main resets handlers and mask (reset_signals). */
    for (i = 0; i < 16; i++) all[i] = ~0UL;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, all, old, 8);
    pid = clone(exec_child, stack + stack_size, flags | 0x100 /* CLONE_VM */ | 0x4000 /* CLONE_VFORK */ | SIGCHLD, &start);
    e = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, 0, 8);
    if (pid > 0 && start.err) {
      int st;
      while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
      pid = -1; e = start.err;
    }
  } else {
    pid = clone(child_main, stack + stack_size, flags | SIGCHLD, make_tap ? (void *)1 : 0);
    e = errno;
  }
  munmap(stack, stack_size);
  drop_stdio();
  pass_fd = -1;
  close(syncp[0]); close(errp[1]);
  if (cons[1] >= 0) close(cons[1]);
  if (pid < 0) { close(syncp[1]); close(errp[0]); if (cons[0] >= 0) close(cons[0]); return -e; }
  out[0] = syncp[1]; out[1] = errp[0]; out[2] = cons[0];
  return pid;
}

/*
 * A descriptor of rl's for the next rl_spawn's child (a copy of rl, not the program) to keep at the same
 * number through its exec: what the child could not open itself once in its own user namespace, such as a
 * running container's /proc/PID/root (the kernel lets only an ancestor namespace's owner reach it).
 */
int rl_pass_fd(int fd) {
  pass_fd = fd;
  return 0;
}

/*
 * Pipes for the next rl_spawn's fds 0-2: bit i of `mask` asks for one as fd i (rl's own is kept
 * otherwise). out[i]: rl's end (the write end for stdin, the read end for stdout and stderr), or -1.
 * Returns 0 or -errno (then none is made).
 */
int rl_stdio_pipes(int mask, int *out) {
  int i, p[2], e;
  for (i = 0; i < 3; i++) out[i] = -1;
  for (i = 0; i < 3; i++) {
    if (!(mask & (1 << i))) continue;
    if (pipe2(p, O_CLOEXEC) < 0) {
      e = errno;
      for (i = 0; i < 3; i++) {
        if (out[i] >= 0) close(out[i]);
        if (stdio_child[i] >= 0) close(stdio_child[i]);
        out[i] = stdio_child[i] = -1;
      }
      return -e;
    }
    stdio_child[i] = i == 0 ? p[0] : p[1];
    out[i] = i == 0 ? p[1] : p[0];
  }
  return 0;
}

static int recv_fd(int sock) {
  char data; struct iovec iov; struct msghdr msg; unsigned long cbuf[4]; int i;
  iov.base = &data; iov.len = 1;
  for (i = 0; i < 4; i++) cbuf[i] = 0;
  msg.name = 0; msg.namelen = 0; msg.iov = &iov; msg.iovlen = 1;
  msg.control = cbuf; msg.controllen = sizeof cbuf; msg.flags = 0;
  do i = recvmsg(sock, &msg, 0x40000000 /* MSG_CMSG_CLOEXEC */); while (i < 0 && errno == EINTR);
  if (i <= 0) return -1;
  if (((int *)cbuf)[3] != SCM_RIGHTS) return -1;
  return ((int *)cbuf)[4];
}

/* Release the child with its op list; rl_started then waits for the outcome. Returns 0 or an errno. */
int rl_release(int sync_w, const char *ops, int len) {
  int r = 0;
  if (transfer_full(sync_w, (char *)&len, sizeof len, 1) < 0 || transfer_full(sync_w, (char *)ops, len, 1) < 0) r = errno;
  close(sync_w);
  return r;
}

/*
 * Wait until a released child has exec'd or failed. `sent`: what rl_release returned. res[0]:
 * START_EXECED, the failing op's index or another START_ status, res[1]: errno, res[2]: the pty master
 * (or -1).
 */
int rl_started(int err_r, int console, int sent, int *res) {
  int msg[2]; ssize_t n;
  res[0] = sent ? START_RELEASE_FAILED : START_EXECED; res[1] = sent; res[2] = -1;
  if (console >= 0) { res[2] = recv_fd(console); close(console); }
  do n = read(err_r, msg, sizeof msg); while (n < 0 && errno == EINTR);
  close(err_r);
  if (n == sizeof msg) { res[0] = msg[0]; res[1] = msg[1]; }
  return 0;
}

/* Tell a child running the executor program that its id maps are written (see main). 0 or -errno. */
int rl_mapped(int sync_w) {
  int go = 1;
  return transfer_full(sync_w, (char *)&go, sizeof go, 1) < 0 ? -errno : 0;
}

/* The child's report on tap0 (rl_spawn with make_tap): 0, an errno, or -1 when the child is gone. */
int rl_tap_result(int err_r) {
  int msg[2];
  if (transfer_full(err_r, (char *)msg, sizeof msg, 0) < 0 || msg[0] != START_TAP_REPORT) return -1;
  return msg[1];
}

/* Abort a child that was never released (id mapping failed). */
int rl_abort(int sync_w, int err_r, int console) {
  close(sync_w); close(err_r);
  if (console >= 0) close(console);
  return 0;
}

/* waitpid for this pid only (never -1: Bun tracks its own children). Returns pid, 0, or -errno. */
int rl_wait(int pid, int *status, int nohang) {
  int r;
  do r = waitpid(pid, status, nohang ? 1 : 0); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

#define HELPER_MAX_ARGS 15

/* posix_spawn argv[0] (an absolute path) with stdin and stdout on /dev/null and stderr on err_w. */
static int spawn_helper(char **argv, int err_w, int *pid) {
  long fa[32]; /* a posix_spawn_file_actions_t (80 bytes in glibc), with room to spare */
  int r;
  if ((r = posix_spawn_file_actions_init(fa)) != 0) return r;
  r = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
  if (!r) r = posix_spawn_file_actions_addopen(fa, 1, "/dev/null", O_WRONLY, 0);
  if (!r) r = posix_spawn_file_actions_adddup2(fa, err_w, 2);
  if (!r) r = posix_spawn(pid, argv[0], fa, 0, argv, environ);
  posix_spawn_file_actions_destroy(fa);
  return r;
}

/* A helper started by rl_spawn_helper, on a thread of its own. */
struct helper {
  unsigned long thread;
  char *argv[HELPER_MAX_ARGS + 1];
  int status; /* its wait status, or -errno when it could not be started */
  char err[4096]; /* the end of its stderr, NUL-terminated */
  char words[]; /* its argv, joined by NULs */
};

static void *helper_thread(void *arg) {
  struct helper *h = arg;
  int p[2], r, st = 0, got; ssize_t n = 0, k;
  if (pipe2(p, O_CLOEXEC) < 0) { h->status = -errno; return 0; }
  r = spawn_helper(h->argv, p[1], &got);
  close(p[1]);
  if (r != 0) { close(p[0]); h->status = -r; return 0; }
  while (n < (ssize_t)sizeof h->err - 1 && (k = read(p[0], h->err + n, sizeof h->err - 1 - n)) > 0) n += k;
  close(p[0]);
  h->err[n] = 0;
  do r = waitpid(got, &st, 0); while (r < 0 && errno == EINTR);
  h->status = r < 0 ? -errno : st;
  return 0;
}

/*
 * Start a helper (newuidmap, newgidmap) and return at once: a thread of its own posix_spawns it (vfork:
 * none of Bun's memory is copied) and waits for it. posix_spawn returns only once the helper has exec'd,
 * which for a setuid program takes about half a millisecond: Bun's thread goes on meanwhile, and two
 * helpers start side by side. `words`: its argv joined by NULs, `n` of them. Returns a handle for
 * rl_wait_helper, or 0 with the errno in *err when no thread could be started.
 */
void *rl_spawn_helper(const char *words, int n, int *err) {
  struct helper *h;
  size_t len = 0;
  int j, r;
  char *w;
  if (n < 1 || n > HELPER_MAX_ARGS) { *err = 7; return 0; } /* E2BIG */
  for (j = 0; j < n; j++) len += slen(words + len) + 1;
  if (!(h = malloc(sizeof *h + len))) { *err = 12; return 0; } /* ENOMEM */
  for (j = 0; j < (int)len; j++) h->words[j] = words[j];
  for (j = 0, w = h->words; j < n; j++) { h->argv[j] = w; w += slen(w) + 1; }
  h->argv[n] = 0;
  h->status = 0;
  h->err[0] = 0;
  if ((r = pthread_create(&h->thread, 0, helper_thread, h)) != 0) { free(h); *err = r; return 0; }
  return h;
}

/* Wait for a helper from rl_spawn_helper and free it. Returns its wait status (or -errno when it could
 * not be started), with the end of its stderr in err (NUL-terminated). */
int rl_wait_helper(void *handle, char *err, int errlen) {
  struct helper *h = handle;
  int j, st;
  pthread_join(h->thread, 0);
  for (j = 0; j < errlen - 1 && h->err[j]; j++) err[j] = h->err[j];
  err[j] = 0;
  st = h->status;
  free(h);
  return st;
}

int rl_kill(int pid, int sig) { return kill(pid, sig) < 0 ? -errno : 0; }

int rl_set_winsize(int fd, int rows, int cols) {
  struct winsize ws; ws.row = rows; ws.col = cols; ws.xpixel = 0; ws.ypixel = 0;
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int rl_close(int fd) { return close(fd); }
