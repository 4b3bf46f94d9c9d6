import { dlopen, ptr, read } from "bun:ffi";
import { errnoName, strerror } from "./errno";

let lib: ReturnType<typeof open> | undefined;

function open() {
  return dlopen("libc.so.6", {
    mknodat: { args: ["i32", "ptr", "u32", "u64"], returns: "i32" },
    lsetxattr: { args: ["ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    lgetxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
    llistxattr: { args: ["ptr", "ptr", "u64"], returns: "i64" },
    fsetxattr: { args: ["i32", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    syscall: { args: ["i64", "i32", "ptr", "ptr", "u64"], returns: "i32" },
    mkdirat: { args: ["i32", "ptr", "u32"], returns: "i32" },
    symlinkat: { args: ["ptr", "i32", "ptr"], returns: "i32" },
    linkat: { args: ["i32", "ptr", "i32", "ptr", "i32"], returns: "i32" },
    renameat2: { args: ["i32", "ptr", "i32", "ptr", "u32"], returns: "i32" },
    unlinkat: { args: ["i32", "ptr", "i32"], returns: "i32" },
    fchownat: { args: ["i32", "ptr", "u32", "u32", "i32"], returns: "i32" },
    fchmodat: { args: ["i32", "ptr", "u32", "i32"], returns: "i32" },
    utimensat: { args: ["i32", "ptr", "ptr", "i32"], returns: "i32" },
    futimens: { args: ["i32", "ptr"], returns: "i32" },
    statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
    fstatfs: { args: ["i32", "ptr"], returns: "i32" },
    close: { args: ["i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    execve: { args: ["ptr", "ptr", "ptr"], returns: "i32" },
    __errno_location: { args: [], returns: "ptr" },
  });
}

function libc() {
  lib ??= open();
  return lib.symbols;
}

const enc = new TextEncoder();
/** A NUL-terminated copy of `s`, for a C function's `const char *`. */
export const cstr = (s: string) => enc.encode(s + "\0");

/** The error of a failed call, as every call of this file throws it: "CALL PATH: reason", with code and errno. */
export function errnoErrorOf(call: string, path: string, errno: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${call} ${path}: ${strerror(errno)}`), { code: errnoName(errno), errno });
}

function errnoError(call: string, path: string): NodeJS.ErrnoException {
  return errnoErrorOf(call, path, read.i32(libc().__errno_location()!, 0));
}

/** Seconds (maybe fractional) as whole seconds and nanoseconds, as a timespec holds them. */
export function timespecOf(seconds: number): [number, number] {
  const s = Math.floor(seconds);
  return [s, Math.round((seconds - s) * 1e9)];
}

function check(r: number, call: string, path: string): number {
  if (r < 0) throw errnoError(call, path);
  return r;
}

const S_IFCHR = 0o020000;
const ENOENT = 2;
const S_IFIFO = 0o010000;
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;

/**
 * A fifo, or the overlay whiteout: a character device 0/0 (allowed unprivileged since Linux 5.8).
 * Node has neither mknod nor mkfifo. `path` is relative to `dirfd`.
 */
export function mknod(path: string, kind: "whiteout" | "fifo", dirfd = AT_FDCWD): void {
  const mode = kind === "fifo" ? S_IFIFO | 0o600 : S_IFCHR;
  check(libc().mknodat(dirfd, ptr(cstr(path)), mode, 0), "mknod", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = value.length ? value : new Uint8Array(1);
  check(libc().lsetxattr(ptr(cstr(path)), ptr(cstr(name)), ptr(v), value.length, 0), "setxattr", path);
}

export function fsetxattr(fd: number, name: string, value: Uint8Array, what: string): void {
  const v = value.length ? value : new Uint8Array(1);
  check(libc().fsetxattr(fd, ptr(cstr(name)), ptr(v), value.length, 0), "setxattr", what);
}

// openat2(2): flags and resolve bits (linux/openat2.h, asm-generic/fcntl.h).
const SYS_openat2 = 437;
export const O = { RDONLY: 0, WRONLY: 1, CREAT: 0o100, EXCL: 0o200, NOFOLLOW: 0o400000, DIRECTORY: 0o200000, CLOEXEC: 0o2000000, PATH: 0o10000000 } as const;
export const RESOLVE = { NO_XDEV: 0x01, NO_MAGICLINKS: 0x02, NO_SYMLINKS: 0x04, BENEATH: 0x08, IN_ROOT: 0x10 } as const;

/** openat2(dirfd, path, {flags, mode, resolve}); returns the fd. */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  const how = new BigUint64Array([BigInt(flags), BigInt(mode), BigInt(resolve)]);
  return check(libc().syscall(SYS_openat2, dirfd, ptr(cstr(path)), ptr(how), 24), "open", path);
}

export function mkdirat(dirfd: number, path: string, mode: number): void {
  check(libc().mkdirat(dirfd, ptr(cstr(path)), mode), "mkdir", path);
}

export function symlinkat(target: string, dirfd: number, path: string): void {
  check(libc().symlinkat(ptr(cstr(target)), dirfd, ptr(cstr(path))), "symlink", path);
}

/** A hard link; flags 0: a symlink at `oldpath` is linked, not followed. */
export function linkat(olddirfd: number, oldpath: string, newdirfd: number, newpath: string): void {
  check(libc().linkat(olddirfd, ptr(cstr(oldpath)), newdirfd, ptr(cstr(newpath)), 0), "link", newpath);
}

export const RENAME_NOREPLACE = 1;

/** rename(2) of one name under a directory descriptor to one under another; RENAME_NOREPLACE: EEXIST rather than replace. */
export function renameat2(olddirfd: number, oldpath: string, newdirfd: number, newpath: string, flags: number): void {
  check(libc().renameat2(olddirfd, ptr(cstr(oldpath)), newdirfd, ptr(cstr(newpath)), flags), "rename", newpath);
}

export function unlinkat(dirfd: number, path: string, flags = 0): void {
  check(libc().unlinkat(dirfd, ptr(cstr(path)), flags), "unlink", path);
}

/** chown that never follows a symlink at `path`. */
export function lchownat(dirfd: number, path: string, uid: number, gid: number): void {
  check(libc().fchownat(dirfd, ptr(cstr(path)), uid, gid, AT_SYMLINK_NOFOLLOW), "chown", path);
}

/** chmod of a name that is known not to be a symlink (Linux has no lchmod). */
export function fchmodat(dirfd: number, path: string, mode: number): void {
  check(libc().fchmodat(dirfd, ptr(cstr(path)), mode, 0), "chmod", path);
}

/** Sets atime and mtime (seconds, may be fractional) of `path` without following a symlink there. */
export function lutimesat(dirfd: number, path: string, seconds: number): void {
  const [s, ns] = timespecOf(seconds);
  const ts = new BigInt64Array([BigInt(s), BigInt(ns), BigInt(s), BigInt(ns)]);
  check(libc().utimensat(dirfd, ptr(cstr(path)), ptr(ts), AT_SYMLINK_NOFOLLOW), "utimes", path);
}

/**
 * Access and modification times ([seconds, nanoseconds] each) of the descriptor `fd` (path null), or of
 * `path` under it without following a symlink there.
 */
export function setTimes(fd: number, path: string | null, atime: [number, number], mtime: [number, number], what: string): void {
  const ts = new BigInt64Array([BigInt(atime[0]), BigInt(atime[1]), BigInt(mtime[0]), BigInt(mtime[1])]);
  check(path === null ? libc().futimens(fd, ptr(ts)) : libc().utimensat(fd, ptr(cstr(path)), ptr(ts), AT_SYMLINK_NOFOLLOW), "utimes", what);
}

export interface StatxType {
  /** S_IFMT bits of st_mode. */
  type: number;
  rdevMajor: number;
  rdevMinor: number;
}
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export { S_IFCHR };
const STATX_TYPE = 0x1;
const statxBuf = new Uint8Array(256);
const statxView = new DataView(statxBuf.buffer);

/** The type (and device numbers) of `path` under `dirfd`, not following a symlink; undefined if absent. */
export function lstatType(dirfd: number, path: string): StatxType | undefined {
  const r = libc().statx(dirfd, ptr(cstr(path)), AT_SYMLINK_NOFOLLOW, STATX_TYPE, ptr(statxBuf));
  if (r < 0) {
    // The usual answer while unpacking a layer: no Error built for it.
    if (read.i32(libc().__errno_location()!, 0) === ENOENT) return undefined;
    throw errnoError("stat", path);
  }
  return { type: statxView.getUint16(28, true) & S_IFMT, rdevMajor: statxView.getUint32(128, true), rdevMinor: statxView.getUint32(132, true) };
}

/** The filesystem type of the descriptor `fd` (statfs f_type: a magic number, e.g. 0x9fa0 for proc). */
export function fsMagic(fd: number): number {
  const buf = new BigInt64Array(15);
  check(libc().fstatfs(fd, ptr(buf)), "statfs", String(fd));
  return Number(buf[0]!);
}

export function closeFd(fd: number): void {
  libc().close(fd);
}

/** The extended attributes of a path (not following symlinks), name → value. */
export function lgetxattrs(path: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const p = cstr(path);
  const names = new Uint8Array(65536);
  const n = Number(libc().llistxattr(ptr(p), ptr(names), names.length));
  if (n < 0) throw errnoError("listxattr", path);
  const value = new Uint8Array(65536);
  for (const name of new TextDecoder().decode(names.subarray(0, n)).split("\0").filter(Boolean)) {
    const len = Number(libc().lgetxattr(ptr(p), ptr(cstr(name)), ptr(value), value.length));
    if (len >= 0) out.set(name, value.slice(0, len));
  }
  return out;
}

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

/** flock(2) without blocking: true when taken, false when another process holds it. */
export function tryFlock(fd: number, exclusive: boolean): boolean {
  if (libc().flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
  const errno = read.i32(libc().__errno_location()!, 0);
  if (errnoName(errno) === "EWOULDBLOCK" || errnoName(errno) === "EAGAIN") return false;
  throw errnoError("flock", String(fd));
}

/** NULL-terminated array of C strings; `keep` holds the strings' memory until the call. */
function cstrArray(words: string[], keep: Uint8Array[]): BigUint64Array {
  const out = new BigUint64Array(words.length + 1);
  words.forEach((w, i) => {
    const s = cstr(w);
    keep.push(s);
    out[i] = BigInt(ptr(s));
  });
  return out;
}

/** Replace this process with `path` (Node has no exec). Returns only by throwing. */
export function execve(path: string, argv: string[], env: Record<string, string | undefined>): never {
  const keep: Uint8Array[] = [];
  const envWords = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : [`${k}=${v}`]));
  const file = cstr(path);
  libc().execve(ptr(file), ptr(cstrArray(argv, keep)), ptr(cstrArray(envWords, keep)));
  throw errnoError("execve", path);
}
