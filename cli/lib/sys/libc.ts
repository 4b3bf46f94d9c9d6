import { dlopen, ptr, read } from "bun:ffi";
import { errnoName, strerror } from "./errno";

let lib: ReturnType<typeof open> | undefined;

function open() {
  return dlopen("libc.so.6", {
    mknodat: { args: ["i32", "ptr", "u32", "u64"], returns: "i32" },
    lsetxattr: { args: ["ptr", "ptr", "ptr", "u64", "i32"], returns: "i32" },
    lgetxattr: { args: ["ptr", "ptr", "ptr", "u64"], returns: "i64" },
    llistxattr: { args: ["ptr", "ptr", "u64"], returns: "i64" },
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
