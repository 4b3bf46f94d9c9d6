/*
 * rl's networking helpers: compiled at run time by bun:ffi's `cc` (TinyCC), no system headers.
 *
 * - rl_pipe: a pipe whose ends sit at fd >= 64 with O_CLOEXEC (the ready/exit fds of slirp4netns).
 * - rl_wait_readable: poll one fd with a timeout (slirp4netns's ready fd).
 * - rl_listen: bind a host port (tcp or udp, IPv4 or IPv6) so rl can report "in use" / "privileged" before
 *   anything runs.
 * - rl_forwarder: fork the port forwarder. It keeps the host listeners it was given, joins the
 *   container's user and network namespaces (setns: this fork is single-threaded, Bun is not), and then
 *   every socket it creates lives inside the container's network namespace: accepted host connections are
 *   spliced to the container's own address (10.0.2.100:PORT, as podman's rootlessport connects), UDP
 *   datagrams are relayed per client address. Not to 127.0.0.1: a service the container binds to its
 *   loopback only must stay private to it. A client with an IPv4 address other than loopback keeps it:
 *   the connection (or datagram) inside comes from the client's address (IP_TRANSPARENT, allowed since
 *   the forwarder holds every capability in the container's user namespace), and policy rules route the
 *   container's replies back to the forwarder (see preserve_sources). Where that cannot be set up,
 *   clients appear as the container's own address, as in podman.
 *
 * The forked forwarder is a copy of a multithreaded process: only syscalls and static memory there.
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned int uint32_t;
typedef unsigned short uint16_t;
typedef long long int64_t;

extern int pipe2(int fds[2], int flags);
extern int fcntl(int fd, int cmd, ...);
extern int close(int fd);
extern int poll(void *fds, unsigned long n, int timeout);
extern int socket(int domain, int type, int proto);
extern int bind(int fd, const void *addr, uint32_t len);
extern int listen(int fd, int backlog);
extern int accept4(int fd, void *addr, uint32_t *len, int flags);
extern int connect(int fd, const void *addr, uint32_t len);
extern int getsockname(int fd, void *addr, uint32_t *len);
extern int setsockopt(int fd, int level, int name, const void *val, uint32_t len);
extern int getsockopt(int fd, int level, int name, void *val, uint32_t *len);
extern int shutdown(int fd, int how);
extern ssize_t recvfrom(int fd, void *buf, size_t n, int flags, void *addr, uint32_t *len);
extern ssize_t sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len);
extern ssize_t splice(int in, void *off_in, int out, void *off_out, size_t len, unsigned int flags);
extern int epoll_create1(int flags);
extern int epoll_ctl(int epfd, int op, int fd, void *ev);
extern int epoll_wait(int epfd, void *evs, int max, int timeout);
extern int fork(void);
extern int getppid(void);
extern int getpid(void);
extern int setns(int fd, int type);
extern int prctl(int option, ...);
extern long syscall(long nr, ...);
extern void _exit(int code) __attribute__((noreturn));
extern int *__errno_location(void);
extern int inet_pton(int af, const char *src, void *dst);
extern int open(const char *path, int flags, ...);
extern ssize_t read(int fd, void *buf, size_t n);
extern int munmap(void *addr, size_t len);

#define errno (*__errno_location())
#define EINTR 4
#define EAGAIN 11
#define EINPROGRESS 115

#define O_CLOEXEC 02000000
#define O_NONBLOCK 04000
#define F_DUPFD_CLOEXEC 1030
#define F_GETFL 3
#define F_SETFL 4
#define F_SETPIPE_SZ 1031

#define AF_INET 2
#define AF_INET6 10
#define EAFNOSUPPORT 97
#define IPPROTO_IPV6 41
#define IPV6_V6ONLY 26
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000
#define SOL_SOCKET 1
#define SO_REUSEADDR 2
#define SO_ERROR 4
#define SO_SNDBUF 7
#define SO_RCVBUF 8
#define SO_LINGER 13
#define SHUT_WR 1
#define SO_MARK 36
#define SOL_IP 0
#define IP_TRANSPARENT 19
#define AF_NETLINK 16
#define O_WRONLY 1

#define EPOLLIN 0x001
#define EPOLLOUT 0x004
#define EPOLLERR 0x008
#define EPOLLHUP 0x010
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3

#define SPLICE_F_MOVE 1
#define SPLICE_F_NONBLOCK 2

#define CLONE_NEWUSER 0x10000000
#define CLONE_NEWNET 0x40000000
#define PR_SET_PDEATHSIG 1
#define SIGKILL 9
#define SYS_close_range 436
#define SYS_rt_sigaction 13
#define SYS_rt_sigprocmask 14
#define SYS_signalfd4 289
#define SIGTERM 15

struct pollfd { int fd; short events; short revents; };
struct sockaddr_in { uint16_t family; uint16_t port; uint32_t addr; char zero[8]; };
/* Room for sockaddr_in and sockaddr_in6 (family, port, flowinfo, 16-byte address, scope id). */
struct sockaddr_any { uint16_t family; uint16_t port; unsigned char rest[24]; };
/* epoll_event is packed on x86_64: u32 events, u64 data. */
struct epoll_event { uint32_t events; uint32_t data_lo; uint32_t data_hi; } __attribute__((packed));
struct sigact { void (*handler)(int); unsigned long flags; void (*restorer)(void); unsigned long mask[16]; };

static uint16_t be16(uint16_t v) { return (uint16_t)((v >> 8) | (v << 8)); }

/* A pipe with both ends at fd >= 64 and close-on-exec. out[0] read end, out[1] write end. */
int rl_pipe(int *out) {
  int p[2], i;
  if (pipe2(p, O_CLOEXEC) < 0) return -errno;
  for (i = 0; i < 2; i++) {
    int fd = fcntl(p[i], F_DUPFD_CLOEXEC, 64);
    if (fd < 0) { int e = errno; close(p[0]); close(p[1]); return -e; }
    close(p[i]);
    out[i] = fd;
  }
  return 0;
}

/* 1 when readable (or hung up), 0 on timeout, -errno on error. */
int rl_wait_readable(int fd, int timeout_ms) {
  struct pollfd p; int r;
  p.fd = fd; p.events = EPOLLIN; p.revents = 0;
  do r = poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

int rl_read_byte(int fd) {
  char c; ssize_t n;
  extern ssize_t read(int, void *, size_t);
  do n = read(fd, &c, 1); while (n < 0 && errno == EINTR);
  return n == 1 ? (unsigned char)c : n == 0 ? -1 : -errno;
}

/*
 * Bind ip:port (port 0: a free one) for tcp (udp = 0) or udp (udp = 1). ip is an IPv4 or IPv6 address,
 * or "" for every address of both families (as podman and docker publish by default; IPv4 alone where
 * the host has no IPv6). Returns the fd (close-on-exec) and the bound port in *bound, or -errno.
 */
int rl_listen(const char *ip, int port, int udp, int *bound) {
  struct sockaddr_any a; uint32_t len, i; int fd, one = 1, zero = 0, family;
  for (i = 0; i < sizeof a; i++) ((unsigned char *)&a)[i] = 0;
  if (ip[0] == 0) family = AF_INET6;   /* "::" */
  else if (inet_pton(AF_INET, ip, a.rest) == 1) family = AF_INET;
  else if (inet_pton(AF_INET6, ip, a.rest + 4) == 1) family = AF_INET6;
  else return -22;
  a.family = (uint16_t)family; a.port = be16((uint16_t)port);
  len = family == AF_INET ? 16 : 28;
  fd = socket(family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0 && ip[0] == 0 && errno == EAFNOSUPPORT) return rl_listen("0.0.0.0", port, udp, bound);
  if (fd < 0) return -errno;
  if (ip[0] == 0) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (!udp) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, &a, len) < 0 || (!udp && listen(fd, 512) < 0)) { int e = errno; close(fd); return -e; }
  if (getsockname(fd, &a, &len) < 0) { int e = errno; close(fd); return -e; }
  *bound = be16(a.port);
  return fd;
}

/* ---------------- the forwarder (runs in the forked child only) ---------------- */

#define MAX_PORTS 256
#define MAX_CONNS 1024
#define MAX_UDP 512
#define CHUNK (1 << 20)

struct port { int fd; int udp; int ctr_port; };
/* One direction of a TCP connection: bytes from src wait in a pipe until dst takes them. */
struct half { int pr, pw; long pending; int eof, done; };
struct conn {
  int used, connecting;   /* connecting: the container side's connect has not completed yet */
  int fd[2]; struct half h[2]; /* h[0]: fd[0] -> fd[1], h[1]: fd[1] -> fd[0] */ uint32_t want[2];
};
struct udp_client { int used; int port; int fd; struct sockaddr_any peer; uint32_t peer_len; int64_t last; };

static struct port ports[MAX_PORTS];
static int nports;
static struct conn conns[MAX_CONNS];
static int closed[MAX_CONNS], nclosed;   /* slots closed during the current epoll_wait batch (draining closes them all at once) */
static struct udp_client udps[MAX_UDP];
static int64_t clock_ticks;
static int epfd;
/* Where connections go inside the container: its interface address (network byte order). */
static uint32_t ctr_addr;
/* Whether TCP connections inside come from the client's own address (set up by preserve_sources). */
static int preserve;
/* The mark of those connections and the routing table that sends the container's replies to them back. */
#define RL_MARK 0x726c
#define RL_TABLE 29292
/* Set by SIGTERM (rl: the container has ended): accept nothing more, finish what is in flight, exit. */
static int draining;
static char dgram[65536];

/* epoll data: kind in the top byte: 1 listener/udp port, 2 tcp conn side, 3 udp client */
static void ep_set(int op, int fd, uint32_t events, uint32_t data) {
  struct epoll_event e; e.events = events; e.data_lo = data; e.data_hi = 0;
  epoll_ctl(epfd, op, fd, &e);
}

/*
 * The IPv4 address of a host client worth passing on (in network byte order): not loopback, not an
 * IPv6 one (the container is reached over IPv4); an IPv4 client of a dual-stack listener is ::ffff:a.b.c.d.
 */
static int client_ipv4(const struct sockaddr_any *c, uint32_t *out) {
  const unsigned char *a; int i;
  if (c->family == AF_INET) a = c->rest;
  else if (c->family == AF_INET6) {
    /* rest: flowinfo (4 bytes), then the address: ten zero bytes, ff ff, the IPv4 address */
    for (i = 4; i < 14; i++) if (c->rest[i] != 0) return 0;
    if (c->rest[14] != 0xff || c->rest[15] != 0xff) return 0;
    a = c->rest + 16;
  } else return 0;
  for (i = 0; i < 4; i++) ((unsigned char *)out)[i] = a[i];
  return a[0] != 127 && a[0] != 0;
}

/* One request to the kernel's routing netlink, and its acknowledgement: 0, or -errno. */
static int rtnl_request(int fd, void *msg, uint32_t len) {
  static char ack[1024]; ssize_t n;
  if (sendto(fd, msg, len, 0, 0, 0) < 0) return -errno;
  n = recvfrom(fd, ack, sizeof ack, 0, 0, 0);
  if (n < 20) return n < 0 ? -errno : -5;
  if (*(uint16_t *)(ack + 4) != 2 /* NLMSG_ERROR */) return -5;
  return *(int *)(ack + 16);
}

static void put_attr(char *msg, uint32_t *len, uint16_t type, uint32_t value) {
  uint16_t *h = (uint16_t *)(msg + *len);
  h[0] = 8; h[1] = type; *(uint32_t *)(msg + *len + 4) = value; *len += 8;
}

/* ip rule add from CTR_ADDR ipproto udp sport PORT lookup RL_TABLE priority 101 */
static int udp_reply_rule(int fd, int port) {
  static char msg[96]; uint32_t len = 16 + 12, i; int r;
  for (i = 0; i < sizeof msg; i++) msg[i] = 0;
  *(uint16_t *)(msg + 4) = 32;                       /* RTM_NEWRULE */
  *(uint16_t *)(msg + 6) = 1 | 4 | 0x400 | 0x200;     /* REQUEST | ACK | CREATE | EXCL */
  *(uint32_t *)(msg + 8) = 3;
  msg[16] = AF_INET; msg[16 + 2] = 32; msg[16 + 7] = 1; /* family, src_len, FR_ACT_TO_TBL */
  put_attr(msg, &len, 2 /* FRA_SRC */, ctr_addr);
  put_attr(msg, &len, 15 /* FRA_TABLE */, RL_TABLE);
  put_attr(msg, &len, 6 /* FRA_PRIORITY */, 101);
  put_attr(msg, &len, 22 /* FRA_IP_PROTO (a u8, padded) */, 17 /* IPPROTO_UDP */);
  *(uint16_t *)(msg + len - 8) = 5;
  put_attr(msg, &len, 23 /* FRA_SPORT_RANGE: start, end */, (uint32_t)port | (uint32_t)port << 16);
  *(uint32_t *)msg = len;
  r = rtnl_request(fd, msg, len);
  return r == -17 /* EEXIST */ ? 0 : r;
}

/*
 * Inside the container's network namespace: accepted TCP connections take the mark of their SYN
 * (net.ipv4.tcp_fwmark_accept), and what is marked RL_MARK is routed to the local host (table RL_TABLE:
 * `local 0.0.0.0/0 dev lo`), so that the container's replies to a connection from the client's address
 * come back here instead of leaving by tap0. UDP has no accept to carry a mark: what the container sends
 * from a published UDP port goes to that table (its replies, which only relayed clients receive).
 * 0, or -1 when any of it is refused.
 */
static int preserve_sources(void) {
  static char msg[64]; uint32_t len, i; int fd, r;
  fd = open("/proc/sys/net/ipv4/tcp_fwmark_accept", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  { extern ssize_t write(int, const void *, size_t); r = write(fd, "1", 1) == 1 ? 0 : -1; }
  close(fd);
  if (r < 0) return -1;
  fd = socket(AF_NETLINK, 3 /* SOCK_RAW */ | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */);
  if (fd < 0) return -1;
  /* ip rule add fwmark RL_MARK lookup RL_TABLE priority 100 */
  for (i = 0; i < sizeof msg; i++) msg[i] = 0;
  len = 16 + 12;
  *(uint16_t *)(msg + 4) = 32;                       /* RTM_NEWRULE */
  *(uint16_t *)(msg + 6) = 1 | 4 | 0x400 | 0x200;     /* REQUEST | ACK | CREATE | EXCL */
  *(uint32_t *)(msg + 8) = 1;                        /* seq */
  msg[16] = AF_INET; msg[16 + 7] = 1;                /* fib_rule_hdr: family, action FR_ACT_TO_TBL */
  put_attr(msg, &len, 10 /* FRA_FWMARK */, RL_MARK);
  put_attr(msg, &len, 15 /* FRA_TABLE */, RL_TABLE);
  put_attr(msg, &len, 6 /* FRA_PRIORITY */, 100);
  *(uint32_t *)msg = len;
  r = rtnl_request(fd, msg, len);
  if (r == 0 || r == -17 /* EEXIST */) {
    /* ip route add local 0.0.0.0/0 dev lo table RL_TABLE */
    for (i = 0; i < sizeof msg; i++) msg[i] = 0;
    len = 16 + 12;
    *(uint16_t *)(msg + 4) = 24;                     /* RTM_NEWROUTE */
    *(uint16_t *)(msg + 6) = 1 | 4 | 0x400 | 0x200;
    *(uint32_t *)(msg + 8) = 2;
    msg[16] = AF_INET; msg[16 + 5] = 4; msg[16 + 6] = (char)254; msg[16 + 7] = 2; /* rtmsg: family, RTPROT_STATIC, RT_SCOPE_HOST, RTN_LOCAL */
    put_attr(msg, &len, 15 /* RTA_TABLE */, RL_TABLE);
    put_attr(msg, &len, 4 /* RTA_OIF */, 1);         /* lo is interface 1 in every network namespace */
    *(uint32_t *)msg = len;
    r = rtnl_request(fd, msg, len);
    if (r == -17) r = 0;
  }
  for (i = 0; r == 0 && i < (uint32_t)nports; i++) if (ports[i].udp) r = udp_reply_rule(fd, ports[i].ctr_port);
  close(fd);
  return r == 0 ? 0 : -1;
}

/*
 * A socket to the container's address:port, connected (udp) or connecting (tcp: *pending is set
 * while the connect is in progress). Never blocks: a server whose accept queue is full drops the SYN,
 * and a blocking connect would then stall every other connection for the retransmit (1 s and more).
 */
static int ctr_socket(int udp, int port, const struct sockaddr_any *client, int *pending) {
  struct sockaddr_in a; int fd, i, r; uint32_t from;
  for (i = 0; i < 8; i++) a.zero[i] = 0;
  a.family = AF_INET; a.port = be16((uint16_t)port); a.addr = ctr_addr;
  fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (preserve && client_ipv4(client, &from)) {
    /* From the client's address (any port); on failure it simply comes from the container's own. */
    struct sockaddr_in b; int one = 1, mark = RL_MARK;
    for (i = 0; i < 8; i++) b.zero[i] = 0;
    b.family = AF_INET; b.port = 0; b.addr = from;
    if (setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof one) == 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) == 0)
      bind(fd, &b, sizeof b);
  }
  do r = connect(fd, &a, sizeof a); while (r < 0 && errno == EINTR);
  *pending = r < 0 && errno == EINPROGRESS;
  if (r < 0 && !*pending) { close(fd); return -1; }
  return fd;
}

/*
 * Close both sockets. Unread input is drained first: a close() with unread data sends a reset, and a
 * reset throws away what is still queued for the peer.
 */
static void conn_close(int ci) {
  struct conn *c = &conns[ci]; int i, n;
  for (i = 0; i < 2; i++) {
    for (n = 0; n < 64 && recvfrom(c->fd[i], dgram, sizeof dgram, 0x40 /* MSG_DONTWAIT */, 0, 0) > 0; n++) {}
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd[i], 0);
    close(c->fd[i]); close(c->h[i].pr); close(c->h[i].pw);
  }
  /* Not free until the epoll_wait batch is done: later events of this batch still name this slot, and a
   * connection accepted meanwhile must not receive them (a stale HUP/ERR would close it). */
  c->used = -1;
  closed[nclosed++] = ci;
}

/* Move what can move in one direction. Returns -1 when the connection must be closed. */
static int pump(struct conn *c, int dir) {
  struct half *h = &c->h[dir]; int src = c->fd[dir], dst = c->fd[1 - dir], rounds;
  if (h->done) return 0;
  for (rounds = 0; rounds < 16; rounds++) {
    if (h->pending == 0 && !h->eof) {
      ssize_t n = splice(src, 0, h->pw, 0, CHUNK, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) h->pending += n;
      else if (n == 0) h->eof = 1;
      else if (errno == EAGAIN) break;
      else if (errno != EINTR) return -1;
    }
    if (h->pending > 0) {
      ssize_t m = splice(h->pr, 0, dst, 0, (size_t)h->pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (m > 0) h->pending -= m;
      else if (m < 0 && errno == EAGAIN) break;
      else if (m < 0 && errno != EINTR) return -1;
    }
    if (h->eof && h->pending == 0) { shutdown(dst, SHUT_WR); h->done = 1; break; }
  }
  return 0;
}

/* Interest of each side: read while its outgoing pipe is empty, write while the incoming one is not. */
static void conn_rearm(int ci) {
  struct conn *c = &conns[ci]; int s;
  for (s = 0; s < 2; s++) {
    uint32_t w = 0;
    if (!c->h[s].done && !c->h[s].eof && c->h[s].pending == 0) w |= EPOLLIN;
    if (c->h[1 - s].pending > 0) w |= EPOLLOUT;
    if (w != c->want[s]) { ep_set(EPOLL_CTL_MOD, c->fd[s], w, (2u << 24) | ((uint32_t)ci << 1) | (uint32_t)s); c->want[s] = w; }
  }
}

static int make_pipe(struct half *h) {
  int p[2];
  if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
  fcntl(p[1], F_SETPIPE_SZ, CHUNK);
  h->pr = p[0]; h->pw = p[1]; h->pending = 0; h->eof = 0; h->done = 0;
  return 0;
}

/*
 * Make close() of a host connection send a reset: when nothing answers in the container, the client
 * must see a failed connection, not a clean end it could take for success.
 */
static void reset_on_close(int fd) {
  struct { int onoff, secs; } l; l.onoff = 1; l.secs = 0;
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

static void tcp_accept(int pi) {
  int ci, hfd, cfd, s, pending; struct sockaddr_any client; uint32_t clen = sizeof client;
  client.family = 0;
  hfd = accept4(ports[pi].fd, &client, &clen, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (hfd < 0) return;
  for (ci = 0; ci < MAX_CONNS && conns[ci].used; ci++) {}
  if (ci == MAX_CONNS) { close(hfd); return; }
  cfd = ctr_socket(0, ports[pi].ctr_port, &client, &pending);
  if (cfd < 0) { reset_on_close(hfd); close(hfd); return; }   /* nothing listens in the container */
  if (make_pipe(&conns[ci].h[0]) < 0) { close(hfd); close(cfd); return; }
  if (make_pipe(&conns[ci].h[1]) < 0) { close(conns[ci].h[0].pr); close(conns[ci].h[0].pw); close(hfd); close(cfd); return; }
  conns[ci].used = 1; conns[ci].connecting = pending; conns[ci].fd[0] = hfd; conns[ci].fd[1] = cfd;
  /* While connecting, the host side waits (errors and hang-ups are reported anyway) and the container
   * side waits to become writable: the end of its connect. */
  for (s = 0; s < 2; s++) {
    conns[ci].want[s] = !pending ? EPOLLIN : s == 1 ? EPOLLOUT : 0;
    ep_set(EPOLL_CTL_ADD, conns[ci].fd[s], conns[ci].want[s], (2u << 24) | ((uint32_t)ci << 1) | (uint32_t)s);
  }
}

/* An event on a connection whose container side is still connecting: done, failed, or not yet. */
static void connect_event(int ci, int side, uint32_t events) {
  struct conn *c = &conns[ci]; int err = 0; uint32_t len = sizeof err;
  if (side == 0) { if (events & (EPOLLERR | EPOLLHUP)) conn_close(ci); return; }
  if (getsockopt(c->fd[1], SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) { reset_on_close(c->fd[0]); conn_close(ci); return; }
  c->connecting = 0;
  conn_rearm(ci);
}

static int same_peer(const struct udp_client *u, const struct sockaddr_any *a, uint32_t len) {
  uint32_t i;
  if (u->peer_len != len) return 0;
  for (i = 0; i < len; i++) if (((const unsigned char *)&u->peer)[i] != ((const unsigned char *)a)[i]) return 0;
  return 1;
}

static void udp_from_host(int pi) {
  struct sockaddr_any from; uint32_t len = sizeof from; ssize_t n; int i, free_i = -1, oldest = 0;
  n = recvfrom(ports[pi].fd, dgram, sizeof dgram, 0x40 /* MSG_DONTWAIT */, &from, &len);
  if (n < 0) return;
  clock_ticks++;
  for (i = 0; i < MAX_UDP; i++) {
    if (!udps[i].used) { if (free_i < 0) free_i = i; continue; }
    if (udps[i].port == pi && same_peer(&udps[i], &from, len)) break;
    if (udps[i].last < udps[oldest].last) oldest = i;
  }
  if (i == MAX_UDP) {
    int pending, fd = ctr_socket(1, ports[pi].ctr_port, &from, &pending);
    if (fd < 0) return;
    if (free_i < 0) { free_i = oldest; epoll_ctl(epfd, EPOLL_CTL_DEL, udps[oldest].fd, 0); close(udps[oldest].fd); }
    i = free_i;
    udps[i].used = 1; udps[i].port = pi; udps[i].fd = fd; udps[i].peer = from; udps[i].peer_len = len;
    ep_set(EPOLL_CTL_ADD, fd, EPOLLIN, (3u << 24) | (uint32_t)i);
  }
  udps[i].last = clock_ticks;
  sendto(udps[i].fd, dgram, (size_t)n, 0x40, 0, 0);
}

static void udp_from_ctr(int ui) {
  ssize_t n = recvfrom(udps[ui].fd, dgram, sizeof dgram, 0x40, 0, 0);
  if (n < 0) return;
  udps[ui].last = ++clock_ticks;
  sendto(ports[udps[ui].port].fd, dgram, (size_t)n, 0x40, &udps[ui].peer, udps[ui].peer_len);
}

/*
 * Once the container has ended nothing new can reach it, but what it wrote before may still wait in a
 * socket or pipe here for a slow client: a connection ends when everything from the container side has
 * gone out (the host side then sees the end of the stream), instead of being cut when rl stops us.
 */
static int drained(struct conn *c) {
  return c->connecting || c->h[1].done;
}

static void start_draining(void) {
  int i;
  draining = 1;
  for (i = 0; i < nports; i++) { epoll_ctl(epfd, EPOLL_CTL_DEL, ports[i].fd, 0); close(ports[i].fd); }
  for (i = 0; i < MAX_UDP; i++) if (udps[i].used) { epoll_ctl(epfd, EPOLL_CTL_DEL, udps[i].fd, 0); close(udps[i].fd); udps[i].used = 0; }
  for (i = 0; i < MAX_CONNS; i++) {
    struct conn *c = &conns[i];
    if (c->used != 1) continue;
    if (!c->connecting && (pump(c, 0) < 0 || pump(c, 1) < 0)) { conn_close(i); continue; }
    if (drained(c)) conn_close(i); else conn_rearm(i);
  }
}

static int open_conns(void) {
  int i, n = 0;
  for (i = 0; i < MAX_CONNS; i++) if (conns[i].used) n++;
  return n;
}

/* SIGTERM as a descriptor the loop waits on (a handler would interrupt the loop anywhere). */
static int term_fd(void) {
  unsigned long mask[16]; int i;
  for (i = 0; i < 16; i++) mask[i] = 0;
  mask[0] = 1ul << (SIGTERM - 1);
  syscall(SYS_rt_sigprocmask, 0 /* SIG_BLOCK */, mask, 0, 8);
  return (int)syscall(SYS_signalfd4, -1, mask, 8, O_CLOEXEC | O_NONBLOCK);
}

static void forwarder_loop(void) {
  static struct epoll_event evs[128];
  int i, n, tfd;
  epfd = epoll_create1(O_CLOEXEC);
  if (epfd < 0) _exit(1);
  for (i = 0; i < nports; i++) ep_set(EPOLL_CTL_ADD, ports[i].fd, EPOLLIN, (1u << 24) | (uint32_t)i);
  tfd = term_fd();
  if (tfd >= 0) ep_set(EPOLL_CTL_ADD, tfd, EPOLLIN, 4u << 24);
  for (;;) {
    n = epoll_wait(epfd, evs, 128, -1);
    if (n < 0) { if (errno == EINTR) continue; _exit(1); }
    for (i = 0; i < n; i++) {
      uint32_t d = evs[i].data_lo, kind = d >> 24, idx = d & 0xffffff;
      if (kind == 4) { if (!draining) start_draining(); continue; }
      if (draining && (kind == 1 || kind == 3)) continue;   /* closed by start_draining */
      if (kind == 1) { if (ports[idx].udp) udp_from_host((int)idx); else tcp_accept((int)idx); }
      else if (kind == 3) { if (udps[idx].used) udp_from_ctr((int)idx); }
      else if (kind == 2) {
        int ci = (int)(idx >> 1), side = (int)(idx & 1); struct conn *c = &conns[ci];
        if (c->used != 1) continue;
        if (c->connecting) { connect_event(ci, side, evs[i].events); continue; }
        /* Readable: pump out of this side; writable: drain what waits for this side. */
        if (pump(c, side) < 0 || pump(c, 1 - side) < 0 || (c->h[0].done && c->h[1].done) || (draining && drained(c)) ||
            (evs[i].events & EPOLLERR) ||
            ((evs[i].events & EPOLLHUP) && c->h[side].eof && c->h[1 - side].pending == 0)) { conn_close(ci); continue; }
        conn_rearm(ci);
      }
    }
    while (nclosed > 0) conns[closed[--nclosed]].used = 0;
    if (draining && open_conns() == 0) _exit(0);
  }
}

/*
 * The fork is a copy of Bun: tens of MiB of heap it will never touch, which turn private as Bun goes on
 * writing its own copy. Unmap every mapping but the ones this loop needs: its code and static data,
 * the stack, the thread's TLS (errno), libc, the dynamic loader and the vdso. Stays a few MiB.
 */
static char maps[1 << 19];
static int holds(unsigned long lo, unsigned long hi, unsigned long addr) { return addr >= lo && addr < hi; }

/* One line of /proc/self/maps: its range and its path (len 0 for an anonymous mapping). */
static char *map_line(char *p, unsigned long *lo, unsigned long *hi, char **path, int *len) {
  char *end; int fields = 0;
  for (end = p; *end && *end != '\n'; end++) {}
  *lo = *hi = 0;
  while (*p != '-') { *lo = *lo * 16 + (unsigned long)(*p <= '9' ? *p - '0' : *p - 'a' + 10); p++; }
  p++;
  while (*p != ' ') { *hi = *hi * 16 + (unsigned long)(*p <= '9' ? *p - '0' : *p - 'a' + 10); p++; }
  for (*path = p; *path < end && fields < 5; (*path)++) if (**path == ' ') { fields++; while ((*path)[1] == ' ') (*path)++; }
  *len = (int)(end - *path);
  return end;
}

static int same_path(const char *a, int alen, const char *b, int blen) {
  int i;
  if (alen != blen || alen == 0) return 0;
  for (i = 0; i < alen; i++) if (a[i] != b[i]) return 0;
  return 1;
}

static void shed_memory(void) {
  unsigned long keep[8], lo, hi, lib_end = 0; char *p, *end, *path, *self = 0; int fd, i, k, len, self_len = 0;
  ssize_t n, total = 0; char here;
  keep[0] = (unsigned long)&shed_memory; keep[1] = (unsigned long)&ports; keep[2] = (unsigned long)&conns;
  keep[3] = (unsigned long)&udps; keep[4] = (unsigned long)dgram; keep[5] = (unsigned long)&here;
  keep[6] = (unsigned long)__errno_location(); keep[7] = (unsigned long)maps;
  fd = open("/proc/self/maps", O_CLOEXEC);
  if (fd < 0) return;
  while (total < (ssize_t)sizeof maps - 1 && (n = read(fd, maps + total, sizeof maps - 1 - total)) > 0) total += n;
  close(fd);
  if (total >= (ssize_t)sizeof maps - 1) return;   /* did not fit: keep everything rather than guess */
  maps[total] = 0;
  /* When this code was loaded from a shared object (not TinyCC's memory), every mapping of that file is
   * needed: its GOT and relocated data sit in mappings of their own. */
  for (p = maps; *p; p = end + 1) {
    end = map_line(p, &lo, &hi, &path, &len);
    if (holds(lo, hi, keep[0])) { self = path; self_len = len; }
    if (!*end) break;
  }
  for (p = maps; *p; p = end + 1) {
    int needed = 0, lib = 0;
    end = map_line(p, &lo, &hi, &path, &len);
    for (k = 0; k < 8; k++) if (holds(lo, hi, keep[k])) needed = 1;
    if (self && same_path(path, len, self, self_len)) { needed = 1; lib = 1; }
    for (i = 0; i < len; i++) {
      const char *q = path + i;
      if ((q[0] == 'l' && q[1] == 'i' && q[2] == 'b' && q[3] == 'c' && q[4] == '.') ||
          (q[0] == 'l' && q[1] == 'd' && q[2] == '-') || q[0] == '[') { needed = 1; lib = q[0] != '['; break; }
    }
    if (lo == lib_end && len == 0) needed = 1;   /* a library's .bss is the anonymous mapping right after it */
    lib_end = lib ? hi : 0;
    if (!needed) munmap((void *)lo, hi - lo);
    if (!*end) break;
  }
}

static void reset_signals(void) {
  struct sigact sa; unsigned long empty[16]; int i, sig;
  for (i = 0; i < 16; i++) { empty[i] = 0; sa.mask[i] = 0; }
  sa.handler = 0; sa.flags = 0; sa.restorer = 0;
  for (sig = 1; sig < 65; sig++) if (sig != 9 && sig != 19) syscall(SYS_rt_sigaction, sig, &sa, 0, 8);
  syscall(SYS_rt_sigprocmask, 2, empty, 0, 8);
}

/*
 * Fork the forwarder. fds[i]/udp[i]/ctr_ports[i]: the host sockets from rl_listen and the container
 * port each goes to, at the container's IPv4 address ctr_ip. userns_fd/netns_fd: /proc/PID/ns/{user,net}
 * of the container. Returns the pid or -errno; the child writes one byte to ready_fd once it is inside
 * the namespaces (EOF: it failed). detached: it does not end with rl (see below).
 */
int rl_forwarder(const int *fds, const int *udp, const int *ctr_ports, int n, const char *ctr_ip, int userns_fd, int netns_fd, int ready_fd, int detached) {
  int parent = getpid(), pid, i, j, keep[MAX_PORTS + 3], nkeep = 0, lo = 3;
  if (n > MAX_PORTS) return -7;
  if (inet_pton(AF_INET, ctr_ip, &ctr_addr) != 1) return -22;
  pid = fork();
  if (pid != 0) return pid < 0 ? -errno : pid;
  if (detached) {
    /* A detached container's: it outlives rl, in a session of its own, until rl's exit command for
     * that container (or the stale sweep) ends it. */
    extern int setsid(void);
    extern int dup2(int a, int b);
    int null = open("/dev/null", 2 /* O_RDWR */);
    setsid();
    /* rl's stdio may be a pipe someone reads to its end (`id=$(rl run -d ...)`): not held open here */
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
  } else {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (getppid() != parent) _exit(0);
  }
  prctl(15 /* PR_SET_NAME */, "rl-portfwd", 0, 0, 0);   /* so ps shows what it is */
  reset_signals();
  /* Keep only our descriptors: Bun's (and the exit fd of slirp4netns) must not live on here. */
  for (i = 0; i < n; i++) keep[nkeep++] = fds[i];
  keep[nkeep++] = userns_fd; keep[nkeep++] = netns_fd; keep[nkeep++] = ready_fd;
  for (i = 1; i < nkeep; i++) for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
  for (i = 0; i < nkeep; i++) {
    if (keep[i] > lo) syscall(SYS_close_range, lo, keep[i] - 1, 0);
    lo = keep[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
  if (setns(userns_fd, CLONE_NEWUSER) < 0) _exit(2);
  if (setns(netns_fd, CLONE_NEWNET) < 0) _exit(3);
  close(userns_fd); close(netns_fd);
  for (i = 0; i < n; i++) {
    ports[i].fd = fds[i]; ports[i].udp = udp[i]; ports[i].ctr_port = ctr_ports[i];
    fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
  }
  nports = n;
  preserve = preserve_sources() == 0;
  { char one = '1'; extern ssize_t write(int, const void *, size_t); write(ready_fd, &one, 1); close(ready_fd); }
  shed_memory();   /* after the last use of the arguments: they live in Bun's heap */
  forwarder_loop();
  _exit(0);
}
