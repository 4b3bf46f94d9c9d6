/*
 * The monitor of a detached container (rl run -d): the role conmon plays for podman, as a small native
 * process instead of a Bun one (a Bun process per container is 20+ MB).
 *
 * Built twice from this file:
 * - as a program (-DRL_EXECUTOR_MAIN, with the executor's code included): `monitor CTL` clones the
 *   container's first process for rl (rl_spawn), so that the container is the monitor's child, not rl's:
 *   rl exits, the monitor stays, owns the container's stdout and stderr (or its pty), writes them to the
 *   container's log in the k8s-file format podman uses, reaps the container, records how it ended in a
 *   file and execs rl's exit command (`rl __cleanup ID`), which records it in the store.
 * - as a shared object for rl: the other end of the control socket (rl_monitor_*).
 *
 * The control socket (SOCK_SEQPACKET, one message each way per step):
 *   rl -> monitor: the request: words joined by NULs (see MON_* below), with the namespaces to join as
 *                  SCM_RIGHTS descriptors when it joins another container's;
 *   monitor -> rl: the pid (or -errno) with the child's sync and error pipes (rl drives the start as for
 *                  a child of its own: id maps, tap0, release, exec);
 *   rl -> monitor: the commit, once the container runs and is recorded, with the descriptors the
 *                  monitor keeps for the container's lifetime (slirp4netns's exit pipe). EOF before the
 *                  commit (rl failed or was killed): the monitor kills the container and exits with
 *                  the container's exit code, which rl's failure path waits for.
 */

#define MON_FLAGS 0        /* clone flags (decimal) */
#define MON_CONSOLE 1      /* 1: -t, the child sends its pty master, which the monitor keeps */
#define MON_TAP 2          /* 1: the child makes tap0 first */
#define MON_STDIN 3        /* 1: -i without -t: a stdin pipe held open (never written) */
#define MON_PROGRAM 4      /* the executor program the child execs */
#define MON_LOG 5          /* the log file ("" for --log-driver none) */
#define MON_EXIT 6         /* the exit file: "CODE FINISHED_MS\n", written atomically */
#define MON_COPY 7         /* 1: the child is a copy of the monitor (child_main, no exec): --userns keep-id, nomap */
#define MON_LOG_MAX 8      /* --log-opt max-size: bytes, 0 for no limit */
#define MON_LOG_FILES 9    /* --log-opt max-file: the log and the rotated files kept beside it (LOG.1 ...) */
#define MON_HEALTH 10      /* --health-interval in ms (0: no healthcheck): the exit command's argv with __health for __cleanup runs it */
#define MON_CLEANUP 11     /* the exit command's argv from here on */
#define MON_MAX_WORDS 40

#ifdef RL_EXECUTOR_MAIN
#define RL_MONITOR_PROGRAM
#include "executor.c"
#else
typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned int uint32_t;
struct iovec { void *base; size_t len; };
struct msghdr {
  void *name; uint32_t namelen; struct iovec *iov; size_t iovlen;
  void *control; size_t controllen; int flags;
};
extern int socketpair(int domain, int type, int proto, int sv[2]);
extern ssize_t sendmsg(int fd, const void *msg, int flags);
extern ssize_t recvmsg(int fd, void *msg, int flags);
extern int close(int fd);
extern int *__errno_location(void);
#define errno (*__errno_location())
#define EINTR 4
#define AF_UNIX 1
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#endif

#define SOCK_SEQPACKET 5
#define MSG_CMSG_CLOEXEC 0x40000000
#define MON_MAX_FDS 8 /* the namespaces to join (the executor's JOIN_COUNT, 7), or what the commit hands over */

/* Send `len` bytes and up to MON_MAX_FDS descriptors in one message. 0, or -errno. */
static int mon_send(int sock, const void *data, int len, const int *fds, int nfds) {
  struct iovec iov; struct msghdr msg;
  unsigned long cbuf[2 + MON_MAX_FDS / 2 + 1];
  int i; ssize_t r;
  for (i = 0; i < (int)(sizeof cbuf / sizeof cbuf[0]); i++) cbuf[i] = 0;
  iov.base = (void *)data; iov.len = (size_t)len;
  msg.name = 0; msg.namelen = 0; msg.iov = &iov; msg.iovlen = 1; msg.flags = 0;
  msg.control = 0; msg.controllen = 0;
  if (nfds > 0) {
    cbuf[0] = 16 + sizeof(int) * (size_t)nfds;   /* cmsg_len */
    ((int *)cbuf)[2] = SOL_SOCKET;                /* cmsg_level */
    ((int *)cbuf)[3] = SCM_RIGHTS;                /* cmsg_type */
    for (i = 0; i < nfds; i++) ((int *)cbuf)[4 + i] = fds[i];
    msg.control = cbuf; msg.controllen = (16 + sizeof(int) * (size_t)nfds + 7) & ~7UL;
  }
  do r = sendmsg(sock, &msg, 0x4000 /* MSG_NOSIGNAL */); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

/* Receive one message: its length (0: EOF, -errno), its descriptors in fds (-1 for those not sent). */
static int mon_recv(int sock, void *data, int len, int *fds, int nfds) {
  struct iovec iov; struct msghdr msg;
  unsigned long cbuf[2 + MON_MAX_FDS / 2 + 1];
  int i, got; ssize_t r;
  for (i = 0; i < (int)(sizeof cbuf / sizeof cbuf[0]); i++) cbuf[i] = 0;
  for (i = 0; i < nfds; i++) fds[i] = -1;
  iov.base = data; iov.len = (size_t)len;
  msg.name = 0; msg.namelen = 0; msg.iov = &iov; msg.iovlen = 1; msg.flags = 0;
  msg.control = cbuf; msg.controllen = sizeof cbuf;
  do r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (msg.controllen >= 16 && ((int *)cbuf)[3] == SCM_RIGHTS) {
    got = (int)((cbuf[0] - 16) / sizeof(int));
    for (i = 0; i < got; i++) {
      if (i < nfds) fds[i] = ((int *)cbuf)[4 + i];
      else close(((int *)cbuf)[4 + i]);
    }
  }
  return (int)r;
}

#ifndef RL_MONITOR_PROGRAM
/* ---------------- rl's side ---------------- */

/* A control socket pair: out[0] rl's end, out[1] the monitor's (both close-on-exec; rl passes the
 * monitor's as a descriptor of the spawned program). 0 or -errno. */
int rl_monitor_socketpair(int *out) {
  return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, out) < 0 ? -errno : 0;
}

/* Send the request (words joined by NULs, `len` bytes) and the `njoin` namespaces to join (the
 * executor's order, -1 where none; njoin 0: none); wait for the answer. out[0]: the pid or -errno,
 * out[1]: the child's sync pipe, out[2]: its error pipe. */
int rl_monitor_spawn(int ctl, const char *words, int len, const int *join, int njoin, int *out) {
  int fds[MON_MAX_FDS], n = 0, answer = 0, got[2], r, i;
  char head[MON_MAX_FDS + 1];
  /* The descriptors that are there go as SCM_RIGHTS; which ones they are, in a first word ("1011001"). */
  for (i = 0; i < njoin && i < MON_MAX_FDS; i++) {
    head[i] = join[i] >= 0 ? '1' : '0';
    if (join[i] >= 0) fds[n++] = join[i];
  }
  head[i] = 0;
  out[0] = 0; out[1] = out[2] = -1;
  {
    char msg[16384]; int k = 0, j;
    for (j = 0; j <= i; j++) msg[k++] = head[j];
    for (j = 0; j < len && k < (int)sizeof msg; j++) msg[k++] = words[j];
    if ((r = mon_send(ctl, msg, k, fds, n)) < 0) { out[0] = r; return r; }
  }
  r = mon_recv(ctl, &answer, sizeof answer, got, 2);
  if (r != (int)sizeof answer) { out[0] = r < 0 ? r : -32 /* EPIPE: the monitor is gone */; return out[0]; }
  out[0] = answer; out[1] = got[0]; out[2] = got[1];
  return 0;
}

/* The container runs and is recorded: hand the monitor what it keeps, and let go of it. 0 or -errno. */
int rl_monitor_commit(int ctl, const int *fds, int nfds) {
  int go = 1, r = mon_send(ctl, &go, sizeof go, fds, nfds);
  close(ctl);
  return r;
}

#else
/* ---------------- the monitor program ---------------- */

extern int clock_gettime(int clock, void *ts);
extern int rename(const char *from, const char *to);
extern int fsync(int fd);
extern char **environ;

struct timespec_ { long sec, nsec; };
struct pollfd_ { int fd; short events, revents; };

#define POLLIN 1
#define POLLHUP 16
#define O_APPEND 02000
#define O_TRUNC 01000
#define O_NONBLOCK 04000
#define SYS_pidfd_open 434

/* One stream written to the log. */
struct stream { int fd; const char *name; };

static int log_fd = -1;
static const char *log_path = "";
static long log_max = 0, log_size = 0;
static int log_files = 1;

extern long lseek(int fd, long off, int whence);

static void open_log(void) {
  if (!log_path[0]) return;
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  log_size = log_fd < 0 ? 0 : lseek(log_fd, 0, 2 /* SEEK_END */);
}

/* LOG.N (N > 0), or LOG itself (N 0). */
static void rotated_name(char *out, int n) {
  int i = 0;
  for (; log_path[i] && i < 4000; i++) out[i] = log_path[i];
  out[i] = 0;
  if (n > 0) { out[i++] = '.'; put_long(out + i, n); }
}

/* docker's rotation: LOG.(N-2) -> LOG.(N-1), ..., LOG -> LOG.1, and a new LOG; with one file, LOG starts over. */
static void rotate_log(void) {
  char from[4100], to[4100]; int i;
  close(log_fd);
  for (i = log_files - 1; i >= 1; i--) {
    rotated_name(from, i - 1); rotated_name(to, i);
    rename(from, to);
  }
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  log_size = 0;
}

/* RFC 3339 with nanoseconds, in UTC: 2026-12-07T18:30:00.123456789Z (30 bytes and a NUL). */
static void timestamp(char *out) {
  struct timespec_ ts; long days, secs, y, doe, yoe, doy, mp, d, m, era; int i;
  long fields[6]; static const int widths[6] = {4, 2, 2, 2, 2, 2}; static const char seps[6] = {'-', '-', 'T', ':', ':', '.'};
  char *p = out;
  clock_gettime(0 /* CLOCK_REALTIME */, &ts);
  days = ts.sec / 86400; secs = ts.sec % 86400;
  /* days since 1970-01-01 to a civil date (proleptic Gregorian) */
  days += 719468; era = days / 146097; doe = days - era * 146097;
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = yoe + era * 400; doy = doe - (365 * yoe + yoe / 4 - yoe / 100); mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1; m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++;
  fields[0] = y; fields[1] = m; fields[2] = d; fields[3] = secs / 3600; fields[4] = secs / 60 % 60; fields[5] = secs % 60;
  for (i = 0; i < 6; i++) {
    long v = fields[i]; int w = widths[i], k;
    for (k = w - 1; k >= 0; k--) { p[k] = (char)('0' + v % 10); v /= 10; }
    p += w; *p++ = seps[i];
  }
  for (i = 8; i >= 0; i--) { p[i] = (char)('0' + ts.nsec % 10); ts.nsec /= 10; }
  p += 9; *p++ = 'Z'; *p = 0;
}

static void write_all(int fd, const char *buf, long n) {
  while (n > 0) {
    ssize_t k = write(fd, buf, (size_t)n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return; /* a full disk loses log lines, never the container */
    buf += k; n -= k;
  }
}

/* One log record: "TIME STREAM F|P TEXT\n" (P: the text continues in the next record). */
static void log_record(struct stream *s, const char *text, int n, int partial) {
  char head[64]; int h = 0, i;
  if (log_fd < 0) return;
  timestamp(head); h = (int)slen(head);
  head[h++] = ' ';
  for (i = 0; s->name[i]; i++) head[h++] = s->name[i];
  head[h++] = ' '; head[h++] = partial ? 'P' : 'F'; head[h++] = ' ';
  if (log_max > 0 && log_size > 0 && log_size + h + n + 1 > log_max) {
    rotate_log();
    if (log_fd < 0) return;
  }
  log_size += h + n + 1;
  write_all(log_fd, head, h);
  write_all(log_fd, text, n);
  write_all(log_fd, "\n", 1);
}

/* Read what is there and log it: each line as a record of its own, what follows the last line end as
 * a partial one at once (so that `rl logs` shows a prompt or a progress bar without waiting). 0 at EOF
 * (or an error: EIO of a pty without a slave), 1 otherwise. */
static int pump(struct stream *s) {
  char buf[65536]; ssize_t n; int i, start = 0;
  do n = read(s->fd, buf, sizeof buf); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == 11 /* EAGAIN */) return 1;
  if (n <= 0) return 0;
  for (i = 0; i < n; i++) {
    if (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n')) {
      /* the pty's "\r\n" is one line end, as podman's conmon writes it */
      int end = i;
      if (buf[i] == '\r') i++;
      log_record(s, buf + start, end - start, 0);
      start = i + 1;
    }
  }
  if (start < n) log_record(s, buf + start, (int)(n - start), 1);
  return 1;
}

static int exit_code(int status) {
  if ((status & 0x7f) == 0) return (status >> 8) & 0xff;
  return 128 + (status & 0x7f);
}

static long now_ms(void) {
  struct timespec_ ts;
  clock_gettime(0, &ts);
  return ts.sec * 1000 + ts.nsec / 1000000;
}

/* "CODE FINISHED_MS\n" to path, through a temporary file and a rename. */
static void write_exit_file(const char *path, int code, long finished) {
  char tmp[4200], text[48]; int fd, n = 0, i;
  for (i = 0; path[i] && i < 4000; i++) tmp[i] = path[i];
  tmp[i++] = '.'; tmp[i++] = 't'; tmp[i++] = 'm'; tmp[i++] = 'p'; tmp[i] = 0;
  put_long(text, code); n = (int)slen(text); text[n++] = ' ';
  put_long(text + n, finished); n += (int)slen(text + n); text[n++] = '\n';
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return;
  write_all(fd, text, n);
  fsync(fd);
  close(fd);
  rename(tmp, path);
}

/* rl's word on the container (blocking): the commit with the descriptors to hold (1: it is kept), or
 * EOF (2: rl failed or died, and gave it up). */
static int take_commit(int ctl, int *committed, int *held, int *nheld) {
  int go = 0, r = mon_recv(ctl, &go, sizeof go, held, MON_MAX_FDS);
  close(ctl);
  if (r != (int)sizeof go || go != 1) { *committed = 2; return 0; }
  *committed = 1;
  for (*nheld = 0; *nheld < MON_MAX_FDS && held[*nheld] >= 0; (*nheld)++) {}
  open_log();
  return 1;
}

/* The healthcheck: rl's exit command with `__health` in place of `__cleanup`, run every `health_ms` while
 * the container runs (one at a time; each is reaped as it ends). */
static long health_ms = 0, health_due = 0;
static int health_pid = -1;
static char **health_argv;

static void run_health(void) {
  int pid;
  if (health_pid > 0 || !health_argv) return;
  pid = raw_fork();
  if (pid == 0) { execve(health_argv[0], health_argv, environ); _exit(127); }
  if (pid > 0) health_pid = pid;
}

static void reap_health(void) {
  int st;
  if (health_pid > 0 && waitpid(health_pid, &st, 1 /* WNOHANG */) == health_pid) health_pid = -1;
}

/* Wait until `pid` ends (pidfd readable, or polled) while the streams are pumped and, until it is
 * committed (1) or abandoned (2), the control socket is read; its wait status. */
static int reap(int pid, struct stream *streams, int nstreams, int ctl, int *committed, int *held, int *nheld) {
  struct pollfd_ pfd[6]; int pidfd, status, i, n, w;
  pidfd = (int)syscall(SYS_pidfd_open, (long)pid, 0L);
  if (pidfd >= 0) fcntl(pidfd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  for (;;) {
    n = 0;
    /* Nothing is read before the commit: the log is opened then (the container's directory exists). */
    if (*committed == 1) for (i = 0; i < nstreams; i++) if (streams[i].fd >= 0) { pfd[n].fd = streams[i].fd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (*committed == 0) { pfd[n].fd = ctl; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (pidfd >= 0) { pfd[n].fd = pidfd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    {
      long wait_ms = pidfd >= 0 ? -1 : 200;
      if (*committed == 1 && health_ms > 0) {
        long left = health_due - now_ms();
        if (left < 0) left = 0;
        if (wait_ms < 0 || left < wait_ms) wait_ms = left;
        if (health_pid > 0 && (wait_ms < 0 || wait_ms > 100)) wait_ms = 100; /* to reap it */
      }
      w = poll(pfd, (unsigned long)n, (int)wait_ms);
    }
    if (w < 0 && errno != EINTR) break;
    reap_health();
    if (*committed == 1 && health_ms > 0 && now_ms() >= health_due) {
      run_health();
      health_due = now_ms() + health_ms;
    }
    do w = waitpid(pid, &status, 1 /* WNOHANG */); while (w < 0 && errno == EINTR);
    if (w == pid) {
      if (pidfd >= 0) close(pidfd);
      /* A workload that ended at once may beat rl's commit: rl still says whether it keeps it. */
      if (*committed == 0) take_commit(ctl, committed, held, nheld);
      return status;
    }
    for (i = 0; i < nstreams; i++) {
      int k;
      if (streams[i].fd < 0) continue;
      for (k = 0; k < n; k++) if (pfd[k].fd == streams[i].fd && pfd[k].revents) {
        if (!pump(&streams[i])) { close(streams[i].fd); streams[i].fd = -1; }
      }
    }
    if (*committed == 0) {
      for (i = 0; i < n; i++) if (pfd[i].fd == ctl && pfd[i].revents) {
        /* rl failed or died before the container was recorded: it must not run on unseen */
        if (!take_commit(ctl, committed, held, nheld)) kill(pid, SIGKILL);
      }
    }
  }
  do w = waitpid(pid, &status, 0); while (w < 0 && errno == EINTR);
  return status;
}

/* Read the streams to their end after the container's exit (its other processes die with its PID 1);
 * at most `ms` more. */
static void drain(struct stream *streams, int nstreams, long ms) {
  long deadline = now_ms() + ms; struct pollfd_ pfd[3]; int i, n;
  for (;;) {
    n = 0;
    for (i = 0; i < nstreams; i++) if (streams[i].fd >= 0) { pfd[n].fd = streams[i].fd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (!n || now_ms() >= deadline) break;
    if (poll(pfd, (unsigned long)n, (int)(deadline - now_ms())) <= 0) continue;
    for (i = 0; i < nstreams; i++) {
      int k;
      if (streams[i].fd < 0) continue;
      for (k = 0; k < n; k++) if (pfd[k].fd == streams[i].fd && pfd[k].revents) {
        if (!pump(&streams[i])) { close(streams[i].fd); streams[i].fd = -1; }
      }
    }
  }
  for (i = 0; i < nstreams; i++) if (streams[i].fd >= 0) { pump(&streams[i]); close(streams[i].fd); streams[i].fd = -1; }
}

static struct stream streams[2];

int main(int argc, char **argv) {
  static char request[16384];
  char *words[MON_MAX_WORDS + 1];
  int ctl, joined[JOIN_COUNT], got[MON_MAX_FDS], n, nw = 0, i, j, out[3], ends[3], pid, status, code, committed = 0, any = 0;
  int held[MON_MAX_FDS], nheld = 0, nstreams = 0, mask, head;
  if (argc != 3 || !streq(argv[1], "monitor")) return 125;
  ctl = (int)to_long(argv[2]);
  /* Out of rl's session and process group: the user's Ctrl-C and a closed terminal are not ours. */
  setsid();
  signal(1 /* SIGHUP */, (void (*)(int))1 /* SIG_IGN */);
  signal(13 /* SIGPIPE */, (void (*)(int))1);
  n = mon_recv(ctl, request, sizeof request - 1, got, MON_MAX_FDS);
  if (n <= 0) return 125;
  request[n] = 0;
  /* the first word says which namespaces came (see rl_monitor_spawn), in the executor's order; empty: none */
  head = (int)slen(request);
  for (i = 0, j = 0; i < JOIN_COUNT; i++) joined[i] = i < head && request[i] == '1' ? got[j++] : -1;
  for (i = head + 1; i < n && nw < MON_MAX_WORDS; i += (int)slen(request + i) + 1) words[nw++] = request + i;
  words[nw] = 0;
  if (nw <= MON_CLEANUP) return 125;
  log_path = words[MON_LOG];
  log_max = to_long(words[MON_LOG_MAX]);
  log_files = (int)to_long(words[MON_LOG_FILES]);
  if (log_files < 1) log_files = 1;
  health_ms = to_long(words[MON_HEALTH]);
  if (health_ms > 0) {
    /* the exit command's words, __cleanup replaced */
    static char *argv_health[MON_MAX_WORDS + 1];
    for (i = MON_CLEANUP, j = 0; i < nw; i++, j++) argv_health[j] = streq(words[i], "__cleanup") ? "__health" : words[i];
    argv_health[j] = 0;
    health_argv = argv_health;
    health_due = now_ms() + health_ms;
  }
  /* stdout and stderr are pipes read here; stdin is this process's /dev/null, or a pipe held open (-i) */
  mask = to_long(words[MON_CONSOLE]) ? 0 : 6 | (to_long(words[MON_STDIN]) ? 1 : 0);
  if ((i = rl_stdio_pipes(mask, ends)) < 0) { mon_send(ctl, &i, sizeof i, 0, 0); return 125; }
  /* A copy of this small process costs nothing much to clone; it is what a user namespace in which the
   * user is not root needs (see spawnChild in cli/lib/sys/executor.ts). */
  for (i = 0; i < JOIN_COUNT; i++) if (joined[i] >= 0) any = 1;
  pid = rl_spawn((int)to_long(words[MON_FLAGS]), (int)to_long(words[MON_CONSOLE]), out, any ? joined : 0, (int)to_long(words[MON_TAP]), to_long(words[MON_COPY]) ? 0 : words[MON_PROGRAM]);
  for (i = 0; i < JOIN_COUNT; i++) if (joined[i] >= 0) close(joined[i]);
  if (pid < 0) { mon_send(ctl, &pid, sizeof pid, 0, 0); return 125; }
  {
    int give[2]; give[0] = out[0]; give[1] = out[1];
    if (mon_send(ctl, &pid, sizeof pid, give, 2) < 0) kill(pid, SIGKILL);
    close(out[0]); close(out[1]);
  }
  if (ends[1] >= 0) { streams[nstreams].fd = ends[1]; streams[nstreams].name = "stdout"; nstreams++; }
  if (ends[2] >= 0) { streams[nstreams].fd = ends[2]; streams[nstreams].name = "stderr"; nstreams++; }
  if (out[2] >= 0) {
    /* -t: the child sends its pty master before it execs (EOF: it failed first) */
    int master = recv_fd(out[2]);
    close(out[2]);
    if (master >= 0) { streams[nstreams].fd = master; streams[nstreams].name = "stdout"; nstreams++; }
  }
  for (i = 0; i < MON_MAX_FDS; i++) held[i] = -1;
  status = reap(pid, streams, nstreams, ctl, &committed, held, &nheld);
  code = exit_code(status);
  if (committed != 1) return code; /* rl's failure path ends the container and removes it */
  write_exit_file(words[MON_EXIT], code, now_ms());
  drain(streams, nstreams, 2000);
  for (i = 0; i < nheld; i++) close(held[i]); /* slirp4netns ends with the exit pipe */
  if (ends[0] >= 0) close(ends[0]);
  if (log_fd >= 0) close(log_fd);
  execve(words[MON_CLEANUP], words + MON_CLEANUP, environ);
  return code;
}
#endif
