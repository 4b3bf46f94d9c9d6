import { ptr } from "bun:ffi";
import { lazyC } from "./compile-c";
import { cstr, errnoErrorOf, timespecOf } from "./libc";
import { errnoName } from "./errno";
import { RlError } from "../errors";

/** helpers/layer-files.c: loaded by the layer unpacker (and the exporter) on first use. */
const layerFiles = lazyC("layer-files.c", {
  rl_write_small_file: { args: ["i32", "ptr", "ptr", "i64", "i32", "i32", "i32", "i64", "i64"], returns: "i32" },
  rl_open_entry: { args: ["i32", "ptr", "ptr", "ptr", "i64"], returns: "i32" },
  rl_read_dir: { args: ["i32", "ptr", "i64"], returns: "i64" },
  rl_xattrs: { args: ["i32", "ptr", "i64"], returns: "i64" },
  rl_seek: { args: ["i32", "i64", "i32"], returns: "i64" },
  rl_send_file: { args: ["i32", "i32", "i64", "i64"], returns: "i64" },
  rl_copy_data: { args: ["i32", "i32", "i64", "i64"], returns: "i64" },
});

const STEPS = ["", "open", "write", "chown", "chmod", "utimes"];

/**
 * Create `name` in the directory `dirfd` (a single component, never followed, never outside `dirfd`),
 * write `data`, set its owner (uid < 0: leave it), mode and times (seconds, may be fractional), close it:
 * one call for the six of them. Throws as the calls of sys/libc.ts do.
 */
export function writeSmallFile(dirfd: number, name: string, data: Uint8Array, mode: number, uid: number, gid: number, mtime: number): void {
  const [s, ns] = timespecOf(mtime);
  const r = layerFiles().rl_write_small_file(dirfd, ptr(cstr(name)), data.length ? ptr(data) : null, data.length, mode, uid, gid, s, ns);
  if (r < 0) throw errnoErrorOf(STEPS[Math.floor(-r / 4096)]!, name, -r % 4096);
}

/** What fstat of an entry's descriptor said (see openEntry). */
export interface EntryStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  atimeSec: number;
  atimeNsec: number;
  nlink: number;
  /** dev:ino, the same for every hard link of a file. */
  inode: string;
  rdevMajor: number;
  rdevMinor: number;
  /** 512-byte blocks allocated: fewer than size / 512 means holes. */
  blocks: number;
}

export interface OpenEntry {
  /** O_RDONLY for a file or directory, O_PATH for anything else; the caller closes it. */
  fd: number;
  st: EntryStat;
  /** A symlink's target. */
  link?: string;
}

const ENOENT = 2;
const ENXIO = 6;
const EAGAIN = 11;
const ERANGE = 34;
const statOut = new BigInt64Array(15);
const linkBuf = new Uint8Array(4097);
const dec = new TextDecoder();

/**
 * Open `name` in the directory `dirfd` (one component) to read it, never through a symlink and never
 * outside `dirfd`, with its metadata from fstat of that descriptor: what is read is what was described,
 * however the tree changes meanwhile. Undefined when the entry is gone; an error when it changed type
 * every time it was looked at (a running container swapping names in a loop).
 */
export function openEntry(dirfd: number, name: string): OpenEntry | undefined {
  const fd = layerFiles().rl_open_entry(dirfd, ptr(cstr(name)), ptr(statOut), ptr(linkBuf), linkBuf.length);
  if (fd === -ENOENT) return undefined;
  if (fd === -EAGAIN) throw new RlError(`${name} kept changing while it was opened`);
  if (fd < 0) throw errnoErrorOf("open", name, -fd);
  const o = statOut;
  const st: EntryStat = {
    mode: Number(o[0]),
    uid: Number(o[1]),
    gid: Number(o[2]),
    size: Number(o[3]),
    mtimeSec: Number(o[4]),
    mtimeNsec: Number(o[5]),
    atimeSec: Number(o[13]),
    atimeNsec: Number(o[14]),
    nlink: Number(o[6]),
    inode: `${o[8]}:${o[7]}`,
    rdevMajor: Number(o[9]),
    rdevMinor: Number(o[10]),
    blocks: Number(o[11]),
  };
  return { fd, st, link: o[12]! >= 0n ? dec.decode(linkBuf.subarray(0, Number(o[12]))) : undefined };
}

const dirBuf = new Uint8Array(1 << 16);

/** The names in the directory `fd` (read from its descriptor, without "." and ".."). */
export function readDirNames(fd: number, what: string): string[] {
  const names: string[] = [];
  for (;;) {
    const n = Number(layerFiles().rl_read_dir(fd, ptr(dirBuf), dirBuf.length));
    if (n < 0) throw errnoErrorOf("readdir", what, -n);
    if (n === 0) return names;
    const view = new DataView(dirBuf.buffer, 0, n);
    for (let off = 0; off < n; ) {
      const reclen = view.getUint16(off + 16, true);
      let end = off + 19;
      while (dirBuf[end] !== 0) end++;
      const name = dec.decode(dirBuf.subarray(off + 19, end));
      if (name !== "." && name !== "..") names.push(name);
      off += reclen;
    }
  }
}

let xattrBuf = new Uint8Array(1 << 16);

/** The extended attributes of the descriptor `fd`, name → value (none for an O_PATH one). */
export function fdXattrs(fd: number, what: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let n = Number(layerFiles().rl_xattrs(fd, ptr(xattrBuf), xattrBuf.length));
  while (n === -ERANGE && xattrBuf.length < 1 << 24) {
    xattrBuf = new Uint8Array(xattrBuf.length * 4);
    n = Number(layerFiles().rl_xattrs(fd, ptr(xattrBuf), xattrBuf.length));
  }
  if (n < 0) throw errnoErrorOf("listxattr", what, -n);
  for (let off = 0; off < n; ) {
    let end = off;
    while (xattrBuf[end] !== 0) end++;
    const name = dec.decode(xattrBuf.subarray(off, end));
    const len = new DataView(xattrBuf.buffer).getUint32(end + 1, true);
    out.set(name, xattrBuf.slice(end + 5, end + 5 + len));
    off = end + 5 + len;
  }
  return out;
}

const SEEK_DATA = 3, SEEK_HOLE = 4;

/** Fewer blocks than bytes: the file may have holes (a cheap test before dataRuns). */
export const mayHaveHoles = (st: EntryStat) => st.size > 0 && st.blocks * 512 < st.size;

/**
 * The runs of data of the file `fd` of `size` bytes, by SEEK_DATA/SEEK_HOLE (on a filesystem without
 * them: one run, the whole file). Holes are what lies between.
 */
export function dataRuns(fd: number, size: number, what: string): { offset: number; length: number }[] {
  const runs: { offset: number; length: number }[] = [];
  for (let off = 0; off < size; ) {
    const data = Number(layerFiles().rl_seek(fd, off, SEEK_DATA));
    if (data === -ENXIO) break; // only a hole is left
    if (data < 0) {
      if (errnoName(-data) === "EINVAL") return [{ offset: 0, length: size }];
      throw errnoErrorOf("lseek", what, -data);
    }
    if (data >= size) break;
    const hole = Number(layerFiles().rl_seek(fd, data, SEEK_HOLE));
    if (hole < 0) throw errnoErrorOf("lseek", what, -hole);
    const end = Math.min(hole, size);
    runs.push({ offset: data, length: end - data });
    off = end;
  }
  return runs;
}

/**
 * Copy `length` bytes of the file `src` from `offset` to `out` in the kernel (sendfile). Returns the
 * bytes copied (fewer: the file ended), or undefined when `out`
 * cannot be written so (opened O_APPEND, for one): the caller copies through memory then.
 */
export function sendFile(out: number, src: number, offset: number, length: number): number | undefined {
  for (;;) {
    const n = Number(layerFiles().rl_send_file(out, src, offset, length));
    if (n >= 0) return n;
    const code = errnoName(-n);
    if (code === "EINVAL" || code === "ENOSYS" || code === "EOPNOTSUPP") return undefined;
    if (code !== "EAGAIN") throw errnoErrorOf("write", "the archive", -n);
    Bun.sleepSync(1); // a non-blocking pipe that is full, as writeAll waits for it
  }
}

/**
 * Copy `length` bytes of the file `src` from `offset` to the same offset of the file `out`, in the kernel
 * (copy_file_range: blocks shared where the filesystem can; else sendfile). Returns the bytes copied
 * (fewer: the file ended).
 */
export function copyData(out: number, src: number, offset: number, length: number, what: string): number {
  const n = Number(layerFiles().rl_copy_data(out, src, offset, length));
  if (n < 0) throw errnoErrorOf("copy", what, -n);
  return n;
}
