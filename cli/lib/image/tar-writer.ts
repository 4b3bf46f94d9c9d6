/**
 * Tar headers for writing archives (save, export, test and bench fixtures): ustar, with a pax
 * extended header in front when a name, link target, size or id does not fit ustar's fields.
 */
export type TarWriteType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

export interface TarWriteEntry {
  path: string;
  type: TarWriteType;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds since the epoch. */
  mtime?: number;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** Written as SCHILY.xattr.NAME pax records (how overlay/OCI tools carry xattrs). */
  xattrs?: Record<string, Uint8Array>;
}

const TYPEFLAG: Record<TarWriteType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };
const enc = new TextEncoder();
export const TAR_END = new Uint8Array(1024);

/** Zero bytes that pad a member's data of `size` bytes to the 512-byte block. */
export function tarPadding(size: number): Uint8Array {
  return new Uint8Array((512 - (size % 512)) % 512);
}

function octal(buf: Uint8Array, off: number, len: number, value: number): boolean {
  const s = Math.max(0, Math.floor(value)).toString(8);
  if (s.length > len - 1) return false;
  buf.set(enc.encode(s.padStart(len - 1, "0")), off);
  return true;
}

function text(buf: Uint8Array, off: number, len: number, value: string): boolean {
  const b = enc.encode(value);
  if (b.length > len) return false;
  buf.set(b, off);
  return true;
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

function ustar(e: TarWriteEntry, name: string, typeflag: string, size: number): { block: Uint8Array; fits: boolean } {
  const b = new Uint8Array(512);
  let fits = text(b, 0, 100, name);
  octal(b, 100, 8, (e.mode ?? (e.type === "dir" ? 0o755 : 0o644)) & 0o7777);
  fits = octal(b, 108, 8, e.uid ?? 0) && fits;
  fits = octal(b, 116, 8, e.gid ?? 0) && fits;
  fits = octal(b, 124, 12, size) && fits;
  octal(b, 136, 12, e.mtime ?? 0);
  b.fill(0x20, 148, 156);
  b[156] = typeflag.charCodeAt(0);
  fits = text(b, 157, 100, e.linkpath ?? "") && fits;
  b.set(enc.encode("ustar\x0000"), 257);
  text(b, 265, 32, (e.uname ?? "").slice(0, 31));
  text(b, 297, 32, (e.gname ?? "").slice(0, 31));
  octal(b, 329, 8, e.devmajor ?? 0);
  octal(b, 337, 8, e.devminor ?? 0);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return { block: b, fits };
}

/** The header block(s) for one entry; its data (e.size bytes) and tarPadding(size) follow. */
export function tarHeader(e: TarWriteEntry): Uint8Array {
  const size = e.type === "file" ? (e.size ?? 0) : 0;
  const name = e.type === "dir" && !e.path.endsWith("/") ? `${e.path}/` : e.path;
  const plain = ustar(e, name, TYPEFLAG[e.type], size);
  const xattrs = Object.entries(e.xattrs ?? {});
  if (plain.fits && xattrs.length === 0) return plain.block;
  const records: Uint8Array[] = [];
  if (enc.encode(name).length > 100) records.push(paxRecord("path", name));
  if (e.linkpath && enc.encode(e.linkpath).length > 100) records.push(paxRecord("linkpath", e.linkpath));
  if (size >= 8 ** 11) records.push(paxRecord("size", String(size)));
  if ((e.uid ?? 0) >= 8 ** 7) records.push(paxRecord("uid", String(e.uid)));
  if ((e.gid ?? 0) >= 8 ** 7) records.push(paxRecord("gid", String(e.gid)));
  for (const [k, v] of xattrs) records.push(paxRecord(`SCHILY.xattr.${k}`, v));
  const body = concat(records);
  const short: TarWriteEntry = {
    ...e,
    path: name.slice(0, 99),
    linkpath: (e.linkpath ?? "").slice(0, 99),
    uid: (e.uid ?? 0) >= 8 ** 7 ? 0 : e.uid,
    gid: (e.gid ?? 0) >= 8 ** 7 ? 0 : e.gid,
  };
  const pax = ustar({ path: "PaxHeader", type: "file", mode: 0o644 }, "PaxHeader", "x", body.length).block;
  const main = ustar(short, short.path, TYPEFLAG[e.type], size >= 8 ** 11 ? 0 : size).block;
  return concat([pax, body, tarPadding(body.length), main]);
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
    const size = e.type === "file" ? (e.size ?? 0) : 0;
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
