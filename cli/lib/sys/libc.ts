import { dlopen, ptr, read } from "bun:ffi";
import { errnoName, strerror } from "./errno";

let lib: ReturnType<typeof open> | undefined;

function open() {
  return dlopen("libc.so.6", {
    mknodat: { args: ["i32", "ptr", "u32", "u64"], returns: "i32" },
    lsetxattr: { args: ["ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    flock: { args: ["i32", "i32"], returns: "i32" },
    lgetxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
    __errno_location: { args: [], returns: "ptr" },
  });
}

function libc() {
  lib ??= open();
  return lib.symbols;
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(s + "\0");

function errnoError(call: string, path: string): NodeJS.ErrnoException {
  const errno = read.i32(libc().__errno_location()!, 0);
  const code = errnoName(errno);
  return Object.assign(new Error(`${call} ${path}: ${strerror(errno)}`), { code, errno });
}

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/**
 * A fifo, or the overlay whiteout: a character device 0/0 (allowed unprivileged since Linux 5.8).
 * Node has neither mknod nor mkfifo.
 */
export function mknod(path: string, kind: "whiteout" | "fifo"): void {
  const mode = kind === "fifo" ? S_IFIFO | 0o600 : S_IFCHR;
  if (libc().mknodat(-100, ptr(cstr(path)), mode, 0) < 0) throw errnoError("mknod", path);
}

export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = value.length ? value : new Uint8Array(1);
  if (libc().lsetxattr(ptr(cstr(path)), ptr(cstr(name)), ptr(v), value.length, 0) < 0) throw errnoError("setxattr", path);
}

const LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4;

/** flock(2) without blocking: true when taken, false when another process holds it. */
export function tryFlock(fd: number, exclusive: boolean): boolean {
  if (libc().flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) === 0) return true;
  const errno = read.i32(libc().__errno_location()!, 0);
  if (errnoName(errno) === "EWOULDBLOCK" || errnoName(errno) === "EAGAIN") return false;
  throw errnoError("flock", String(fd));
}

/** The value of an extended attribute, or undefined when the file has none by that name. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const buf = new Uint8Array(256);
  const n = Number(libc().lgetxattr(ptr(cstr(path)), ptr(cstr(name)), ptr(buf), buf.length));
  return n < 0 ? undefined : buf.slice(0, n);
}
