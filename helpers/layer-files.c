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
