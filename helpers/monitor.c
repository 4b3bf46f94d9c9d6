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
 *                  monitor keeps for the container's lifetime (slirp4netns's exit pipe), and with
 *                  MON_GO_CLIENT the last of them an attach connection already made (rl run -it,
 *                  rl start -a: nothing the container writes is missed). EOF before the commit (rl
 *                  failed or was killed): the monitor kills the container and exits with the
 *                  container's exit code, which rl's failure path waits for.
 *
 * The attach socket (rl attach): from the commit on, the monitor listens on DIR/attach (MON_ATTACH) and
 * speaks to each connection in frames of a kind byte, a 4-byte little-endian length and the payload:
 *   monitor -> client: ATTACH_STDOUT, ATTACH_STDERR (the container's output, as the log gets it),
 *                      ATTACH_EXIT (decimal exit code; the last frame, once the output is drained);
 *   client -> monitor: ATTACH_STDIN (written to the container's stdin: its pipe, or its pty with -t),
 *                      ATTACH_CLOSE (EOF on the stdin pipe), ATTACH_RESIZE (rows, cols: 2 bytes each).
 * The socket lives in the container's runtime directory (0700, the user's own).
 */

#define MON_FLAGS 0        /* clone flags (decimal) */
#define MON_CONSOLE 1      /* 1: -t, the child sends its pty master, which the monitor keeps */
#define MON_TAP 2          /* 1: the child makes tap0 first */
#define MON_STDIN 3        /* 1: -i: input from attached clients goes to the container (a pipe, or its pty with -t) */
#define MON_PROGRAM 4      /* the executor program the child execs */
#define MON_LOG 5          /* the log file ("" for --log-driver none) */
#define MON_EXIT 6         /* the exit file: "CODE FINISHED_MS\n", written atomically */
#define MON_COPY 7         /* 1: the child is a copy of the monitor (child_main, no exec): --userns keep-id, nomap */
#define MON_LOG_MAX 8      /* --log-opt max-size: bytes, 0 for no limit */
#define MON_LOG_FILES 9    /* --log-opt max-file: the log and the rotated files kept beside it (LOG.1 ...) */
#define MON_HEALTH 10      /* --health-interval in ms (0: no healthcheck): the exit command's argv with __health for __cleanup runs it */
#define MON_ATTACH 11      /* the directory of the attach socket ("" for none) */
#define MON_CLEANUP 12     /* the exit command's argv from here on */
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
#define E2BIG 7
#define AF_UNIX 1
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SCM_RIGHTS 1
#endif

#define SOCK_SEQPACKET 5
#define MSG_CMSG_CLOEXEC 0x40000000
#define MON_MAX_FDS 8 /* the namespaces to join (the executor's JOIN_COUNT, 7), or what the commit hands over */
#define MON_GO 1          /* the commit */
#define MON_GO_CLIENT 2   /* with the commit: its last descriptor is an attach connection */

#define ATTACH_STDIN 0
#define ATTACH_STDOUT 1
#define ATTACH_STDERR 2
#define ATTACH_EXIT 3
#define ATTACH_CLOSE 4
#define ATTACH_RESIZE 5
#define ATTACH_MAX_IN 4096 /* the largest frame a client may send */

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

/* The attach socket's address: DIR/attach through DIR's descriptor `dirfd` ("/proc/self/fd/N/attach":
 * DIR may be longer than a socket address holds). Returns the address's length. */
struct attach_addr { unsigned short family; char path[108]; };
static uint32_t attach_address(struct attach_addr *a, int dirfd) {
  static const char head[] = "/proc/self/fd/", tail[] = "/attach";
  char digits[12]; int k = 0, n = 0, i;
  a->family = AF_UNIX;
  for (i = 0; head[i]; i++) a->path[k++] = head[i];
  for (i = dirfd; i > 0 || n == 0; i /= 10) digits[n++] = (char)('0' + i % 10);
  while (n > 0) a->path[k++] = digits[--n];
  for (i = 0; tail[i]; i++) a->path[k++] = tail[i];
  a->path[k] = 0;
  return (uint32_t)(2 + k + 1);
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

/* The container runs and is recorded: hand the monitor what it keeps (and `client`, an attach connection,
 * or -1), and let go of it. 0 or -errno. */
int rl_monitor_commit(int ctl, const int *fds, int nfds, int client) {
  int all[MON_MAX_FDS], n = 0, i, go = MON_GO, r;
  if (nfds < 0 || nfds > MON_MAX_FDS - 1) { close(ctl); return -E2BIG; /* refuse rather than hand over some */ }
  for (i = 0; i < nfds; i++) all[n++] = fds[i];
  if (client >= 0) { all[n++] = client; go |= MON_GO_CLIENT; }
  r = mon_send(ctl, &go, sizeof go, all, n);
  close(ctl);
  return r;
}

extern int open(const char *path, int flags, ...);
extern int socket(int domain, int type, int proto);
extern int connect(int fd, const void *addr, uint32_t len);

/* Connect to the attach socket in `dir` (see attach_address). The connection's descriptor, or -errno. */
int rl_monitor_connect(const char *dir) {
  struct attach_addr addr; uint32_t len;
  int d, fd, i, e;
  d = open(dir, 010000000 /* O_PATH */ | 0200000 /* O_DIRECTORY */ | SOCK_CLOEXEC /* = O_CLOEXEC */);
  if (d < 0) return -errno;
  fd = socket(AF_UNIX, 1 /* SOCK_STREAM */ | SOCK_CLOEXEC, 0);
  if (fd < 0) { e = errno; close(d); return -e; }
  len = attach_address(&addr, d);
  while ((i = connect(fd, &addr, len)) < 0 && errno == EINTR) {}
  e = i < 0 ? errno : 0;
  close(d);
  if (e) { close(fd); return -e; }
  return fd;
}

/* An attach connection made before the commit: out[0] rl's end, out[1] the monitor's. 0 or -errno. */
int rl_monitor_client_pair(int *out) {
  return socketpair(AF_UNIX, 1 /* SOCK_STREAM */ | SOCK_CLOEXEC, 0, out) < 0 ? -errno : 0;
}

#else
/* ---------------- the monitor program ---------------- */

extern int clock_gettime(int clock, void *ts);
extern int rename(const char *from, const char *to);
extern int link(const char *from, const char *to);
extern int unlink(const char *path);
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

/* One stream written to the log (and to attached clients as frames of `kind`). */
struct stream { int fd; const char *name; int kind; };

extern int bind(int fd, const void *addr, uint32_t len);
extern int listen(int fd, int backlog);
extern int accept4(int fd, void *addr, void *len, int flags);
extern int setsockopt(int fd, int level, int name, const void *val, uint32_t len);

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

/* docker's rotation: LOG.(N-2) -> LOG.(N-1), ..., LOG -> LOG.1, and a new LOG; with one file, LOG starts over.
 * The new LOG is made aside and renamed over the old one: a reader (rl logs -f) always finds a LOG, and
 * knows a new one by its inode (a LOG truncated in place would be read on from the old offset). */
static void rotate_log(void) {
  char from[4100], to[4100], fresh[4110]; int i, fd;
  for (i = log_files - 1; i >= 2; i--) {
    rotated_name(from, i - 1); rotated_name(to, i);
    rename(from, to);
  }
  rotated_name(fresh, 0);
  for (i = 0; fresh[i]; i++) {}
  fresh[i++] = '.'; fresh[i++] = 'n'; fresh[i++] = 'e'; fresh[i++] = 'w'; fresh[i] = 0;
  fd = open(fresh, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (log_files >= 2) {
    rotated_name(to, 1);
    unlink(to);
    if (link(log_path, to) < 0) rename(log_path, to);
  }
  if (fd >= 0) rename(fresh, log_path);
  close(log_fd);
  log_fd = fd;
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

/* 0, or -1 when not all could be written (a full disk loses log lines, never the container). */
static int write_all(int fd, const char *buf, long n) {
  while (n > 0) {
    ssize_t k = write(fd, buf, (size_t)n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    buf += k; n -= k;
  }
  return 0;
}

/* ---- attached clients (see "The attach socket" above) ---- */

#define MAX_CLIENTS 8
/* A client's partial frame; allocated while it is connected (a monitor's memory is counted per container). */
#define CLIENT_BUF (5 + ATTACH_MAX_IN)
struct client { int fd; int fill; char *buf; };
static struct client clients[MAX_CLIENTS];
static int listen_fd = -1, attach_dir = -1;
/* Where ATTACH_STDIN goes: the stdin pipe, or the pty master (-t); -1 without -i. The pty master (-t,
 * with or without -i) takes ATTACH_RESIZE. */
static int input_fd = -1, input_is_pty = 0, pty_fd = -1;

static void drop_client(struct client *c) {
  close(c->fd);
  free(c->buf);
  c->fd = -1; c->fill = 0; c->buf = 0;
}

static void add_client(int fd) {
  int i;
  /* A client that reads nothing for 10 s is dropped rather than stall the container's output. */
  struct { long sec, usec; } tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, 21 /* SO_SNDTIMEO */, &tv, sizeof tv);
  for (i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd < 0) {
    if (!(clients[i].buf = malloc(CLIENT_BUF))) break;
    clients[i].fd = fd; clients[i].fill = 0;
    return;
  }
  close(fd);
}

static void send_frame(struct client *c, int kind, const char *data, int n) {
  char head[5];
  head[0] = (char)kind;
  head[1] = (char)(n & 0xff); head[2] = (char)((n >> 8) & 0xff); head[3] = (char)((n >> 16) & 0xff); head[4] = (char)((n >> 24) & 0xff);
  if (write_all(c->fd, head, 5) < 0 || write_all(c->fd, data, n) < 0) drop_client(c);
}

static void broadcast(int kind, const char *data, int n) {
  int i;
  for (i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) send_frame(&clients[i], kind, data, n);
}

/* Listen on DIR/attach (see attach_address). A stale socket of an earlier monitor is replaced. */
static void listen_attach(const char *dir) {
  struct attach_addr addr; int fd;
  if (!dir[0]) return;
  attach_dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (attach_dir < 0) return;
  unlinkat(attach_dir, "attach", 0);
  fd = socket(AF_UNIX, 1 /* SOCK_STREAM */ | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (bind(fd, &addr, attach_address(&addr, attach_dir)) < 0 || listen(fd, MAX_CLIENTS) < 0) { close(fd); return; }
  listen_fd = fd;
}

static void unlisten_attach(void) {
  if (listen_fd >= 0) { close(listen_fd); listen_fd = -1; }
  if (attach_dir >= 0) { unlinkat(attach_dir, "attach", 0); close(attach_dir); attach_dir = -1; }
}

/* The frame's length, or -1 past ATTACH_MAX_IN (computed unsigned: a high byte shifted into an int is undefined). */
static int frame_length(const char *b) {
  uint32_t v = (uint32_t)(unsigned char)b[1] | (uint32_t)(unsigned char)b[2] << 8 | (uint32_t)(unsigned char)b[3] << 16 | (uint32_t)(unsigned char)b[4] << 24;
  return v > ATTACH_MAX_IN ? -1 : (int)v;
}

/* Carry out one client frame. */
/* Input for the container not yet taken: its stdin (non-blocking) is full while it does not read. The
 * clients are not read meanwhile (their own buffers fill and hold them back), so the monitor never waits
 * on a container that reads nothing: its output is still logged, its end still seen. */
static char pending[65536];
static int pending_len = 0, close_when_flushed = 0;

static void close_input(void) {
  if (input_fd >= 0 && !input_is_pty) close(input_fd);
  input_fd = -1; pending_len = 0; close_when_flushed = 0;
}

/* Write what is pending as far as the container takes it. */
static void flush_input(void) {
  int off = 0, i;
  while (off < pending_len && input_fd >= 0) {
    ssize_t k = write(input_fd, pending + off, (size_t)(pending_len - off));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == 11 /* EAGAIN */) break;
    if (k <= 0) { close_input(); return; } /* EPIPE: it closed its stdin */
    off += (int)k;
  }
  for (i = off; i < pending_len; i++) pending[i - off] = pending[i];
  pending_len -= off;
  if (!pending_len && close_when_flushed) close_input();
}

static void client_frame(int kind, const char *data, int n) {
  if (kind == ATTACH_STDIN && input_fd >= 0) {
    int i;
    /* Room is there: clients are read only while nothing is pending, and a read holds one buffer. */
    for (i = 0; i < n && pending_len < (int)sizeof pending; i++) pending[pending_len++] = data[i];
    flush_input();
  } else if (kind == ATTACH_CLOSE && input_fd >= 0 && !input_is_pty) {
    if (pending_len) close_when_flushed = 1;
    else close_input();
  } else if (kind == ATTACH_RESIZE && pty_fd >= 0 && n == 4) {
    struct winsize ws;
    ws.row = (unsigned short)((unsigned char)data[0] | (unsigned char)data[1] << 8);
    ws.col = (unsigned short)((unsigned char)data[2] | (unsigned char)data[3] << 8);
    ws.xpixel = ws.ypixel = 0;
    ioctl(pty_fd, TIOCSWINSZ, &ws);
  }
}

/* Read what a client sent; carry out each whole frame. EOF, an error or a frame too large drops it. */
static void read_client(struct client *c) {
  ssize_t n; int len, off = 0;
  do n = read(c->fd, c->buf + c->fill, CLIENT_BUF - (size_t)c->fill); while (n < 0 && errno == EINTR);
  if (n <= 0) { drop_client(c); return; }
  c->fill += (int)n;
  while (c->fill - off >= 5) {
    len = frame_length(c->buf + off);
    if (len < 0) { drop_client(c); return; }
    if (c->fill - off < 5 + len) break;
    client_frame(c->buf[off], c->buf + off + 5, len);
    off += 5 + len;
  }
  for (len = 0; off + len < c->fill; len++) c->buf[len] = c->buf[off + len];
  c->fill -= off;
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
  broadcast(s->kind, buf, (int)n);
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
static const char *attach_path_dir = "";

static int take_commit(int ctl, int *committed, int *held, int *nheld) {
  int go = 0, r = mon_recv(ctl, &go, sizeof go, held, MON_MAX_FDS);
  close(ctl);
  if (r != (int)sizeof go || !(go & MON_GO)) {
    int i;
    for (i = 0; i < MON_MAX_FDS; i++) if (held[i] >= 0) { close(held[i]); held[i] = -1; }
    *committed = 2;
    return 0;
  }
  *committed = 1;
  for (*nheld = 0; *nheld < MON_MAX_FDS && held[*nheld] >= 0; (*nheld)++) {}
  if ((go & MON_GO_CLIENT) && *nheld > 0) { add_client(held[*nheld - 1]); held[--(*nheld)] = -1; }
  open_log();
  listen_attach(attach_path_dir);
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
  struct pollfd_ pfd[8 + MAX_CLIENTS]; int pidfd, status, i, n, w;
  pidfd = (int)syscall(SYS_pidfd_open, (long)pid, 0L);
  if (pidfd >= 0) fcntl(pidfd, 2 /* F_SETFD */, 1 /* FD_CLOEXEC */);
  for (;;) {
    n = 0;
    /* Nothing is read before the commit: the log is opened then (the container's directory exists). */
    if (*committed == 1) for (i = 0; i < nstreams; i++) if (streams[i].fd >= 0) { pfd[n].fd = streams[i].fd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (*committed == 0) { pfd[n].fd = ctl; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (pidfd >= 0) { pfd[n].fd = pidfd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (listen_fd >= 0) { pfd[n].fd = listen_fd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
    if (pending_len && input_fd >= 0) { pfd[n].fd = input_fd; pfd[n].events = 4 /* POLLOUT */; pfd[n].revents = 0; n++; }
    else for (i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) { pfd[n].fd = clients[i].fd; pfd[n].events = POLLIN; pfd[n].revents = 0; n++; }
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
    for (i = 0; i < n; i++) {
      int k;
      if (!pfd[i].revents || pfd[i].fd == listen_fd) continue;
      if (pfd[i].events == 4 /* POLLOUT */) { flush_input(); continue; }
      for (k = 0; k < MAX_CLIENTS; k++) if (clients[k].fd >= 0 && clients[k].fd == pfd[i].fd) read_client(&clients[k]);
    }
    /* Accepted after the reads: a client dropped in this round (by pump) leaves its descriptor number to
     * the newcomer, which its entry above would have had read (a blocking read of nothing yet sent). */
    for (i = 0; i < n; i++) if (pfd[i].revents && pfd[i].fd == listen_fd) {
      int fd = accept4(listen_fd, 0, 0, SOCK_CLOEXEC);
      if (fd >= 0) add_client(fd);
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
  /* What is there, without waiting: a descriptor of its stream held outside the container (its pid
   * namespace ended all inside) would hold a blocking read, and the monitor's end, for good. */
  for (i = 0; i < nstreams; i++) if (streams[i].fd >= 0) {
    fcntl(streams[i].fd, 4 /* F_SETFL */, O_NONBLOCK);
    pump(&streams[i]); close(streams[i].fd); streams[i].fd = -1;
  }
}

static struct stream streams[2];

int main(int argc, char **argv) {
  static char request[16384];
  char *words[MON_MAX_WORDS + 1];
  int ctl, joined[JOIN_COUNT], got[MON_MAX_FDS], n, nw = 0, i, j, out[3], ends[3], pid, status, code, committed = 0, any = 0;
  int held[MON_MAX_FDS], nheld = 0, nstreams = 0, mask, head;
  /* `monitor drain`: hold a detached exec's pty master (fd 3), reading what its command writes to the
   * terminal and dropping it, until the command and whatever it left hold the terminal no more (EIO).
   * Without a holder the command's terminal would hang up as rl exits. */
  if (argc == 2 && streq(argv[1], "drain")) {
    static char sink[4096]; ssize_t k;
    setsid();
    signal(1 /* SIGHUP */, (void (*)(int))1 /* SIG_IGN */);
    do k = read(3, sink, sizeof sink); while (k > 0 || (k < 0 && errno == EINTR));
    return 0;
  }
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
  attach_path_dir = words[MON_ATTACH];
  for (i = 0; i < MAX_CLIENTS; i++) clients[i].fd = -1;
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
  if (ends[1] >= 0) { streams[nstreams].fd = ends[1]; streams[nstreams].name = "stdout"; streams[nstreams].kind = ATTACH_STDOUT; nstreams++; }
  if (ends[2] >= 0) { streams[nstreams].fd = ends[2]; streams[nstreams].name = "stderr"; streams[nstreams].kind = ATTACH_STDERR; nstreams++; }
  input_fd = ends[0];
  if (input_fd >= 0) fcntl(input_fd, 4 /* F_SETFL */, O_NONBLOCK);
  if (out[2] >= 0) {
    /* -t: the child sends its pty master before it execs (EOF: it failed first) */
    int master = recv_fd(out[2]);
    close(out[2]);
    if (master >= 0) { streams[nstreams].fd = master; streams[nstreams].name = "stdout"; streams[nstreams].kind = ATTACH_STDOUT; nstreams++; }
    pty_fd = master;
    if (master >= 0 && to_long(words[MON_STDIN])) { input_fd = master; input_is_pty = 1; fcntl(master, 4 /* F_SETFL */, O_NONBLOCK); }
  }
  for (i = 0; i < MON_MAX_FDS; i++) held[i] = -1;
  status = reap(pid, streams, nstreams, ctl, &committed, held, &nheld);
  code = exit_code(status);
  if (committed != 1) return code; /* rl's failure path ends the container and removes it */
  write_exit_file(words[MON_EXIT], code, now_ms());
  drain(streams, nstreams, 2000);
  pty_fd = -1; /* closed with its stream */
  {
    char text[16]; put_long(text, code);
    broadcast(ATTACH_EXIT, text, (int)slen(text));
    for (i = 0; i < MAX_CLIENTS; i++) if (clients[i].fd >= 0) drop_client(&clients[i]);
    unlisten_attach();
  }
  for (i = 0; i < nheld; i++) close(held[i]); /* slirp4netns ends with the exit pipe */
  close_input();
  if (log_fd >= 0) close(log_fd);
  execve(words[MON_CLEANUP], words + MON_CLEANUP, environ);
  return code;
}
#endif
