/*
 * rl's layer unpacker, the part per small file: one call from JS instead of six (open, write, chown,
 * chmod, utimes, close), each of which costs more in JS than in the kernel when a layer has thousands
 * of small files. Compiled like helpers/executor.c (no system headers; TinyCC or the host's compiler).
 */

typedef unsigned long size_t;
typedef long ssize_t;
typedef unsigned long long uint64_t;

extern long syscall(long nr, ...);
extern ssize_t write(int fd, const void *buf, size_t n);
extern int close(int fd);
extern int fchown(int fd, unsigned int uid, unsigned int gid);
extern int fchmod(int fd, unsigned int mode);
extern int futimens(int fd, const void *times);
extern int *__errno_location(void);
extern int sched_yield(void);

#define errno (*__errno_location())
#define EINTR 4

#define O_WRONLY 1
#define O_CREAT 0100
#define O_EXCL 0200
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000

#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08

#define SYS_openat2 437

struct open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };

/* Steps, for the caller's error message. */
#define STEP_OPEN 1
#define STEP_WRITE 2
#define STEP_CHOWN 3
#define STEP_CHMOD 4
#define STEP_UTIMES 5

/*
 * Create `name` in the directory `dirfd` as a new file (never through a symlink, never outside dirfd:
 * as LayerDir.openAt does), write `len` bytes, give it uid:gid (unless uid < 0), `mode` and the
 * modification and access time sec.nsec, and close it. Owner before mode: chown clears setuid/setgid.
 * Returns 0, or -(step * 4096 + errno) for the first step that failed (the file is left for the caller
 * to report; a layer that fails is removed whole).
 */
int rl_write_small_file(int dirfd, const char *name, const char *data, long len, int mode, int uid, int gid, long sec, long nsec) {
  struct open_how how;
  long times[4];
  int fd, step = 0, err = 0;
  how.flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  how.mode = 0600;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  do fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how); while (fd < 0 && errno == EINTR);
  if (fd < 0) return -(STEP_OPEN * 4096 + errno);
  while (len > 0) {
    ssize_t n = write(fd, data, (size_t)len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { step = STEP_WRITE; err = n < 0 ? errno : 5 /* EIO */; break; }
    data += n; len -= n;
  }
  if (!step && uid >= 0 && fchown(fd, (unsigned int)uid, (unsigned int)gid) < 0) { step = STEP_CHOWN; err = errno; }
  if (!step && fchmod(fd, (unsigned int)mode) < 0) { step = STEP_CHMOD; err = errno; }
  times[0] = sec; times[1] = nsec; times[2] = sec; times[3] = nsec;
  if (!step && futimens(fd, times) < 0) { step = STEP_UTIMES; err = errno; }
  close(fd);
  return step ? -(step * 4096 + err) : 0;
}

/*
 * The reading side, for exports of trees a container controls (its upper directory may change while rl
 * reads it): every entry is opened relative to its directory's descriptor, never through a symlink,
 * never outside it, and described by fstat of that descriptor, so what is read is what was described.
 */
extern ssize_t read(int fd, void *buf, size_t n);
extern long lseek(int fd, long off, int whence);
extern int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf);
extern ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t n);
extern ssize_t getdents64(int fd, void *buf, size_t n);
extern ssize_t flistxattr(int fd, char *list, size_t size);
extern ssize_t fgetxattr(int fd, const char *name, void *value, size_t size);

#define O_RDONLY 0
#define O_NONBLOCK 04000
#define O_NOCTTY 0400
#define O_DIRECTORY 0200000
#define O_PATH 010000000
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EMPTY_PATH 0x1000
#define STATX_BASIC 0x7ff
#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define S_IFLNK 0120000
#define ENOENT 2
#define ENXIO 6
#define EAGAIN 11
#define ENODEV 19
#define ENOTDIR 20
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENODATA 61
#define ELOOP 40
#define EBADF 9
#define EOPNOTSUPP 95
#define EOVERFLOW 75

#define OPEN_TRIES 64

static unsigned int u32at(const unsigned char *b, int off) { return b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | ((unsigned int)b[off + 3] << 24); }
static unsigned long long u64at(const unsigned char *b, int off) { return u32at(b, off) | ((unsigned long long)u32at(b, off + 4) << 32); }

/*
 * Open `name` in the directory `dirfd` for reading what it is: a file O_RDONLY (non-blocking, so a fifo
 * swapped in cannot hang us), a directory O_RDONLY|O_DIRECTORY, anything else O_PATH; never following a
 * symlink, never leaving dirfd. When the entry changes type between the look and the open, look again
 * (a running container may swap names in a loop: OPEN_TRIES times, then -EAGAIN).
 * Fills out[] from fstat of the descriptor: mode, uid, gid, size, mtime s, mtime ns, nlink, ino,
 * dev (major << 32 | minor), rdev major, rdev minor, 512-byte blocks, for a symlink the length of
 * its target, read into `link` (cap bytes), atime s, atime ns. Returns the descriptor, or -errno
 * (-ENOENT: gone).
 */
int rl_open_entry(int dirfd, const char *name, long *out, char *link, long cap) {
  unsigned char sx[256];
  struct open_how how;
  int fd = -1, tries, type = 0, e;
  for (tries = 0; tries < OPEN_TRIES && fd < 0; tries++) {
    if (tries) sched_yield(); /* let the rename in progress finish */
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC, sx) < 0) return -errno;
    type = (sx[28] | (sx[29] << 8)) & S_IFMT;
    how.flags = (type == S_IFREG ? O_RDONLY | O_NONBLOCK | O_NOCTTY : type == S_IFDIR ? O_RDONLY | O_DIRECTORY : O_PATH) | O_NOFOLLOW | O_CLOEXEC;
    how.mode = 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    do fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof how); while (fd < 0 && errno == EINTR);
    if (fd < 0) {
      e = errno;
      /* It changed (EAGAIN: the kernel saw a rename race in the lookup): look again. */
      if (e == ELOOP || e == ENOTDIR || e == ENXIO || e == ENODEV || e == ENOENT || e == EAGAIN) continue;
      return -e;
    }
    if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC, sx) < 0) { e = errno; close(fd); return -e; }
    if (((sx[28] | (sx[29] << 8)) & S_IFMT) != type) { close(fd); fd = -1; }
  }
  if (fd < 0) return -EAGAIN;
  out[0] = sx[28] | (sx[29] << 8);
  out[1] = u32at(sx, 20);
  out[2] = u32at(sx, 24);
  out[3] = (long)u64at(sx, 40);
  out[4] = (long)u64at(sx, 112);
  out[5] = u32at(sx, 120);
  out[6] = u32at(sx, 16);
  out[7] = (long)u64at(sx, 32);
  out[8] = (long)(((unsigned long long)u32at(sx, 136) << 32) | u32at(sx, 140));
  out[9] = u32at(sx, 128);
  out[10] = u32at(sx, 132);
  out[11] = (long)u64at(sx, 48);
  out[12] = -1;
  out[13] = (long)u64at(sx, 64);
  out[14] = u32at(sx, 72);
  if (type == S_IFLNK) {
    ssize_t n = readlinkat(fd, "", link, (size_t)cap);
    if (n < 0 || n >= cap) { e = n < 0 ? errno : ENAMETOOLONG; close(fd); return -e; }
    out[12] = n;
  }
  return fd;
}

/* getdents64 of a directory descriptor: bytes of linux_dirent64 records, 0 at the end, or -errno. */
long rl_read_dir(int fd, char *buf, long cap) {
  ssize_t n;
  do n = getdents64(fd, buf, (size_t)cap); while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

/*
 * The extended attributes of the descriptor `fd`, packed into buf as NAME NUL, u32 little-endian
 * length, VALUE, one after another. Returns the bytes used, 0 for none (or an O_PATH descriptor, which
 * has none to read), -ERANGE when buf is too small, or -errno.
 */
long rl_xattrs(int fd, char *buf, long cap) {
  static char names[65536];
  ssize_t n = flistxattr(fd, names, sizeof names), i = 0, used = 0;
  if (n < 0) return errno == EBADF || errno == EOPNOTSUPP ? 0 : -errno;
  while (i < n) {
    long len = 0, k;
    ssize_t v;
    while (i + len < n && names[i + len]) len++;
    if (used + len + 5 > cap) return -ERANGE;
    for (k = 0; k < len; k++) buf[used + k] = names[i + k];
    buf[used + len] = 0;
    v = fgetxattr(fd, names + i, buf + used + len + 5, (size_t)(cap - used - len - 5));
    if (v < 0 && errno == ERANGE) return -ERANGE;
    if (v >= 0) {
      buf[used + len + 1] = (char)(v & 0xff); buf[used + len + 2] = (char)((v >> 8) & 0xff);
      buf[used + len + 3] = (char)((v >> 16) & 0xff); buf[used + len + 4] = (char)((v >> 24) & 0xff);
      used += len + 5 + v;
    } else if (errno != ENODATA && errno != EOVERFLOW) return -errno;
    /* ENODATA: removed meanwhile; EOVERFLOW: a file capability whose root id this namespace cannot show */
    i += len + 1;
  }
  return used;
}

/* lseek (SEEK_DATA 3 and SEEK_HOLE 4 find a sparse file's data): the offset, or -errno (-ENXIO: none). */
long rl_seek(int fd, long off, int whence) {
  long r = lseek(fd, off, whence);
  return r < 0 ? -errno : r;
}

extern ssize_t sendfile(int out, int in, long *offset, size_t count);

/*
 * Copy `len` bytes of the file `in` from `off` to `out` in the kernel (sendfile: no copy through the
 * caller's memory). Returns the bytes copied (fewer at the end of a file that shrank, or when a
 * non-blocking `out` is full after some were), or -errno when none were (EINVAL: `out` cannot take it,
 * e.g. opened O_APPEND: copy by read and write instead).
 */
long rl_send_file(int out, int in, long off, long len) {
  long done = 0;
  while (done < len) {
    long o = off + done;
    ssize_t n = sendfile(out, in, &o, (size_t)(len - done > (1L << 30) ? (1L << 30) : len - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done ? done : -errno;
    if (n == 0) break;
    done += n;
  }
  return done;
}

extern ssize_t copy_file_range(int in, long *off_in, int out, long *off_out, size_t len, unsigned int flags);

#define EXDEV 18
#define EINVAL 22
#define ENOSYS 38
#define SEEK_SET 0

/*
 * Copy `len` bytes of the file `in` from `off` to the same offset of the file `out`, in the kernel:
 * copy_file_range (which shares the blocks where the filesystem can), or where it cannot (another
 * filesystem, one without it) sendfile from that offset. Returns the bytes copied (fewer: `in` ended),
 * or -errno when none were.
 */
long rl_copy_data(int out, int in, long off, long len) {
  long done = 0;
  int plain = 0;
  while (done < len) {
    long oi = off + done, oo = off + done;
    size_t want = (size_t)(len - done > (1L << 30) ? (1L << 30) : len - done);
    ssize_t n;
    if (!plain) {
      n = copy_file_range(in, &oi, out, &oo, want, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) { plain = 1; continue; }
    } else {
      if (lseek(out, off + done, SEEK_SET) < 0) return done ? done : -errno;
      n = sendfile(out, in, &oi, want);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return done ? done : -errno;
    if (n == 0) break;
    done += n;
  }
  return done;
}
