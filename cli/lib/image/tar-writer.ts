/**
 * Tar headers for writing archives (save, export, test and bench fixtures): ustar, with a pax extended
 * header in front for whatever ustar's fields cannot hold exactly (names and link targets by their
 * UTF-8 bytes, user and group names, ids, sizes, times before 1970 or with fractions, xattrs), so no
 * reader that knows pax sees changed metadata. Numbers that overflow their octal field are also written
 * in base-256 (GNU), for readers that ignore pax; device numbers (no pax keyword) only so. Sparse files use the
 * GNU sparse 1.0 pax format (what GNU tar writes with --sparse and Go's archive/tar reads).
 */
export type TarWriteType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/**
 * A run of data in a sparse file; what lies between runs is a hole of zeros. Every run but the last
 * with data is whole 512-byte blocks long (GNU tar's reader starts each run's data at a block of the
 * member, Go's reads them back to back: only then do both read the same), and the map ends with an
 * empty run at the file's size.
 */
export interface SparseRun {
  offset: number;
  length: number;
}

export interface TarWriteEntry {
  path: string;
  type: TarWriteType;
  /** For a file: its size (the real size of a sparse one). */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch; a fraction or a negative value is kept (pax mtime). */
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** Written as SCHILY.xattr.NAME pax records (how overlay/OCI tools carry xattrs). */
  xattrs?: Record<string, Uint8Array>;
  /**
   * A sparse file's data runs, ascending: the member then holds only these bytes (the caller writes
   * `sparseDataSize(sparse)` bytes after the header, then tarPadding of that).
   */
  sparse?: SparseRun[];
}

const TYPEFLAG: Record<TarWriteType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };
const enc = new TextEncoder();
export const TAR_END = new Uint8Array(1024);

/** Zero bytes that pad a member's data of `size` bytes to the 512-byte block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

/** The bytes a sparse member's data runs take in the archive (after its header and map). */
export function sparseDataSize(runs: SparseRun[]): number {
  let n = 0;
  for (const r of runs) n += r.length;
  return n;
}

/**
 * A number in a field of `len` bytes: octal with a NUL when it fits, else base-256 (the high bit of
 * the first byte set, two's complement big-endian: GNU tar's, Go's and bsdtar's extension). Returns
 * whether the octal form held it (pax must carry it otherwise).
 */
function numeric(buf: Uint8Array, off: number, len: number, value: number): boolean {
  if (Number.isInteger(value) && value >= 0 && value < 8 ** (len - 1)) {
    buf.set(enc.encode(value.toString(8).padStart(len - 1, "0")), off);
    return true;
  }
  let v = BigInt(Math.floor(value));
  const bits = BigInt((len - 1) * 8);
  const limit = 1n << (bits - 1n);
  if (v >= limit || v < -limit) return false; // beyond even base-256: the field stays zero
  if (v < 0n) v += 1n << bits;
  for (let i = len - 1; i >= 1; i--) {
    buf[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = value < 0 ? 0xff : 0x80;
  return false;
}

/** Whether `value` written as `len` bytes of octal (with its NUL) would be exact. */
const fitsOctal = (value: number, len: number) => Number.isInteger(value) && value >= 0 && value < 8 ** (len - 1);

/** The longest prefix of `bytes` of at most `max` bytes that does not cut a UTF-8 sequence. */
function utf8Prefix(bytes: Uint8Array, max: number): Uint8Array {
  if (bytes.length <= max) return bytes;
  let n = max;
  while (n > 0 && (bytes[n]! & 0xc0) === 0x80) n--;
  return bytes.subarray(0, n);
}

/** One pax record, "LEN KEY=VALUE\n" (LEN counts the whole record). */
export function paxRecord(key: string, value: string | Uint8Array): Uint8Array {
  const v = typeof value === "string" ? enc.encode(value) : value;
  const rest = enc.encode(` ${key}=`).length + v.length + 1;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  const head = enc.encode(`${len} ${key}=`);
  const out = new Uint8Array(len);
  out.set(head, 0);
  out.set(v, head.length);
  out[len - 1] = 0x0a;
  return out;
}

/** Seconds (maybe fractional or negative) as pax writes them: "-1.5", "1700000000.25". */
export function paxTime(seconds: number): string {
  // Whole seconds and nanoseconds apart: seconds * 1e9 would lose precision beyond 2^53.
  let whole = Math.floor(Math.abs(seconds));
  let ns = Math.round((Math.abs(seconds) - whole) * 1e9);
  if (ns >= 1e9) [whole, ns] = [whole + 1, ns - 1e9];
  const frac = ns ? `.${String(ns).padStart(9, "0").replace(/0+$/, "")}` : "";
  return `${seconds < 0 && (whole || ns) ? "-" : ""}${whole}${frac}`;
}

/** ustar's prefix/name split of a path of up to 255 bytes, at a "/", or undefined when none fits. */
function splitName(bytes: Uint8Array): { prefix: Uint8Array; name: Uint8Array } | undefined {
  if (bytes.length <= 100) return { prefix: new Uint8Array(0), name: bytes };
  if (bytes.length > 256) return undefined;
  for (let i = Math.max(1, bytes.length - 101); i < bytes.length - 1 && i <= 155; i++) {
    if (bytes[i] === 0x2f) return { prefix: bytes.subarray(0, i), name: bytes.subarray(i + 1) };
  }
  return undefined;
}

interface Block {
  block: Uint8Array;
  /** pax records for what the block could not hold exactly. */
  records: Uint8Array[];
}

/** The ustar block of an entry, and the pax records for whatever it cannot hold. */
function ustar(e: TarWriteEntry, name: string, typeflag: string, size: number, pathRecord = true): Block {
  const b = new Uint8Array(512);
  const records: Uint8Array[] = [];
  const nameBytes = enc.encode(name);
  const split = splitName(nameBytes);
  if (split) {
    b.set(split.name, 0);
    b.set(split.prefix, 345);
  } else {
    if (pathRecord) records.push(paxRecord("path", name));
    b.set(utf8Prefix(nameBytes, 100), 0);
  }
  numeric(b, 100, 8, (e.mode ?? (e.type === "dir" ? 0o755 : 0o644)) & 0o7777);
  const uid = e.uid ?? 0, gid = e.gid ?? 0;
  if (!numeric(b, 108, 8, uid)) records.push(paxRecord("uid", String(uid)));
  if (!numeric(b, 116, 8, gid)) records.push(paxRecord("gid", String(gid)));
  if (!numeric(b, 124, 12, size)) records.push(paxRecord("size", String(size)));
  const mtime = e.mtime ?? 0;
  if (!fitsOctal(mtime, 12)) records.push(paxRecord("mtime", paxTime(mtime)));
  numeric(b, 136, 12, mtime >= 0 ? Math.floor(mtime) : mtime);
  b[156] = typeflag.charCodeAt(0);
  const link = enc.encode(e.linkpath ?? "");
  if (link.length > 100) records.push(paxRecord("linkpath", e.linkpath!));
  b.set(utf8Prefix(link, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  for (const [key, off, value] of [["uname", 265, e.uname], ["gname", 297, e.gname]] as const) {
    const v = enc.encode(value ?? "");
    if (v.length > 31) records.push(paxRecord(key, value!));
    b.set(utf8Prefix(v, 31), off);
  }
  // pax has no keyword for device numbers: too big for octal, they go in base-256, which GNU tar and Go read.
  numeric(b, 329, 8, e.devmajor ?? 0);
  numeric(b, 337, 8, e.devminor ?? 0);
  setChecksum(b);
  return { block: b, records };
}

/** The header checksum: the sum of the block's bytes with the checksum field as spaces, in octal. */
function setChecksum(b: Uint8Array): void {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
}

/** The sparse map at the start of a GNU sparse 1.0 member's data: counts and runs in decimal lines, padded. */
function sparseMap(runs: SparseRun[]): Uint8Array {
  const text = enc.encode(`${runs.length}\n${runs.map((r) => `${r.offset}\n${r.length}\n`).join("")}`);
  return concat([text, tarPadding(text.length)]);
}

/** The name GNU tar gives the ustar header of a sparse member: DIR/GNUSparseFile.0/BASE. */
function sparseName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? `GNUSparseFile.0/${path}` : `${path.slice(0, i)}/GNUSparseFile.0/${path.slice(i + 1)}`;
}

/**
 * The header block(s) for one entry (for a sparse file, its map too); its data (e.size bytes, or
 * sparseDataSize(e.sparse) for a sparse one) and tarPadding of that follow.
 */
export function tarHeader(e: TarWriteEntry): Uint8Array {
  const size = e.type === "file" ? (e.size ?? 0) : 0;
  const name = e.type === "dir" && !e.path.endsWith("/") ? `${e.path}/` : e.path;
  const records: Uint8Array[] = [];
  let main: Block;
  let map: Uint8Array | undefined;
  if (e.type === "file" && e.sparse) {
    const runs = e.sparse;
    const bad = runs.find((r, i) => (r.length % 512 && i < runs.length - 2) || (i && r.offset < runs[i - 1]!.offset + runs[i - 1]!.length));
    if (bad || runs[runs.length - 1]?.offset !== size) throw new Error(`tar member ${e.path}: sparse runs must be ascending, whole 512-byte blocks but the last, and end with an empty run at the file's size`);
    map = sparseMap(runs);
    records.push(paxRecord("GNU.sparse.major", "1"), paxRecord("GNU.sparse.minor", "0"), paxRecord("GNU.sparse.name", name), paxRecord("GNU.sparse.realsize", String(size)));
    // The real name is in GNU.sparse.name: a path record would name the placeholder.
    main = ustar(e, sparseName(name), "0", map.length + sparseDataSize(e.sparse), false);
  } else {
    main = ustar(e, name, TYPEFLAG[e.type], size);
  }
  records.push(...main.records);
  for (const [k, v] of Object.entries(e.xattrs ?? {})) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  if (records.length === 0) return map ? concat([main.block, map]) : main.block;
  const body = concat(records);
  const base = name.replace(/\/$/, "").split("/").pop() || "root";
  const pax = ustar({ path: "", type: "file", mode: 0o644, mtime: 0 }, "", "x", body.length).block;
  // Readers that ignore pax see a file PaxHeaders.0/NAME (as GNU tar and Go name it).
  pax.set(utf8Prefix(enc.encode(`PaxHeaders.0/${base}`), 100), 0);
  setChecksum(pax);
  return concat([pax, body, tarPadding(body.length), main.block, ...(map ? [map] : [])]);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Writes a tar archive to a file descriptor. Data of big members is streamed in by the caller
 * (`data`), so nothing larger than one chunk is held in memory.
 */
export class TarFileWriter {
  constructor(private readonly write: (bytes: Uint8Array) => void | Promise<void>) {}

  async add(e: TarWriteEntry, data?: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    await this.write(tarHeader(e));
    const size = e.type !== "file" ? 0 : e.sparse ? sparseDataSize(e.sparse) : (e.size ?? 0);
    if (!data || size === 0) return;
    let n = 0;
    if (data instanceof Uint8Array) {
      await this.write(data);
      n = data.length;
    } else {
      for await (const c of data) {
        await this.write(c);
        n += c.length;
      }
    }
    if (n !== size) throw new Error(`tar member ${e.path} has ${n} bytes, its header says ${size}`);
    await this.write(tarPadding(size));
  }

  async end(): Promise<void> {
    await this.write(TAR_END);
  }
}
