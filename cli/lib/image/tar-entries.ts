/**
 * Streaming tar reader (ustar, GNU, pax) over the WASM header parser, and a header-only
 * index of tar files on disk.
 */
import { open } from "node:fs/promises";
import { parseTarHeader, type TarHeader } from "../../../core-as/index";

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";

export interface TarEntry {
  /** As stored (pax / GNU long names applied); directories lose their trailing "/". */
  path: string;
  type: TarEntryType;
  /** Symlink target or hardlink source; "" when none. */
  linkpath: string;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of `body`. */
  size: number;
  /** Seconds since the epoch; fractional when a pax header gave it so. */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** From pax SCHILY.xattr.* (and LIBARCHIVE.xattr.*) records. */
  xattrs: Record<string, Uint8Array>;
  /**
   * The entry's data as views into the input chunks (not copies). Read it before asking for
   * the next entry; whatever is left unread then is skipped.
   */
  body: AsyncIterable<Uint8Array>;
}

const TRUNCATED = "unexpected end of tar stream";
// Pax and GNU long-name bodies are held in memory; real ones are a few KiB.
const MAX_META_SIZE = 64 << 20;
const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

/** Metadata from a pax extended header, applied to the next entry. */
interface PaxRecords {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  xattrs: Record<string, Uint8Array>;
}

/** What the metadata entries ('x', 'L', 'K') before a header contribute to it. */
interface Pending {
  pax?: PaxRecords;
  longName?: string;
  longLink?: string;
}

/** Pulls bytes from an async iterator of chunks without copying when it can. */
class ChunkReader {
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private readonly scratch = new Uint8Array(512);

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** Loads the next non-empty chunk; false at the end of the input. */
  private async pull(): Promise<boolean> {
    for (;;) {
      const r = await this.source.next();
      if (r.done) {
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      if (r.value.length > 0) {
        this.chunk = r.value;
        this.pos = 0;
        return true;
      }
    }
  }

  /** The next 512-byte block if the current chunk holds all of it. */
  blockNow(): Uint8Array | undefined {
    if (this.chunk.length - this.pos < 512) return undefined;
    const b = this.chunk.subarray(this.pos, this.pos + 512);
    this.pos += 512;
    return b;
  }

  /** The next 512-byte block; undefined at a clean end of input. */
  async block(): Promise<Uint8Array | undefined> {
    const now = this.blockNow();
    if (now) return now;
    let have = 0;
    while (have < 512) {
      if (this.pos === this.chunk.length && !(await this.pull())) {
        if (have === 0) return undefined;
        throw new Error(TRUNCATED);
      }
      const n = Math.min(512 - have, this.chunk.length - this.pos);
      this.scratch.set(this.chunk.subarray(this.pos, this.pos + n), have);
      this.pos += n;
      have += n;
    }
    return this.scratch;
  }

  /** Up to `max` (> 0) bytes from the current chunk, loading the next one if needed. */
  async piece(max: number): Promise<Uint8Array> {
    if (this.pos === this.chunk.length && !(await this.pull())) throw new Error(TRUNCATED);
    const end = Math.min(this.chunk.length, this.pos + max);
    const p = this.chunk.subarray(this.pos, end);
    this.pos = end;
    return p;
  }

  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.pos === this.chunk.length && !(await this.pull())) throw new Error(TRUNCATED);
      const k = Math.min(n, this.chunk.length - this.pos);
      this.pos += k;
      n -= k;
    }
  }

  /** Exactly `n` bytes in one array. */
  async readAll(n: number): Promise<Uint8Array> {
    if (this.chunk.length - this.pos >= n) {
      const p = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      return p;
    }
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n) {
      const p = await this.piece(n - have);
      out.set(p, have);
      have += p.length;
    }
    return out;
  }

  /** Reads the input to its end, so that whatever hashes it upstream sees every byte. */
  async drain(): Promise<void> {
    this.pos = this.chunk.length;
    while (await this.pull()) this.pos = this.chunk.length;
  }

  async close(): Promise<void> {
    await this.source.return?.();
  }
}

function padding(size: number): number {
  return (512 - (size % 512)) % 512;
}

/** Reading position inside the current entry's data, shared with its body iterator. */
interface BodyState {
  remaining: number;
  current: boolean;
}

async function* bodyOf(reader: ChunkReader, state: BodyState): AsyncGenerator<Uint8Array> {
  while (state.remaining > 0) {
    if (!state.current) throw new Error("Cannot read tar entry body: the reader has moved on to the next entry");
    const p = await reader.piece(state.remaining);
    state.remaining -= p.length;
    yield p;
  }
}

/**
 * Yields the entries of a tar stream in order. Metadata entries (pax 'x'/'g', GNU 'L'/'K')
 * are applied, not yielded. Reads the input to its end, also past the end-of-archive blocks.
 */
export async function* tarEntries(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ChunkReader(chunks[Symbol.asyncIterator]());
  let pending: Pending = {};
  let finished = false;
  try {
    for (;;) {
      const block = reader.blockNow() ?? (await reader.block());
      if (!block) {
        if (pending.pax || pending.longName !== undefined || pending.longLink !== undefined) throw new Error(TRUNCATED);
        finished = true;
        return;
      }
      const h = parseTarHeader(block);
      if (h === "end") {
        await reader.drain();
        finished = true;
        return;
      }
      if (isMetaType(h.typeflag)) {
        pending = await readMeta(h, pending, (n) => reader.readAll(n), (n) => reader.skip(n));
        continue;
      }
      const entry = resolveEntry(h, pending);
      pending = {};
      const state: BodyState = { remaining: entry.size, current: true };
      yield Object.assign(entry, { body: bodyOf(reader, state) });
      state.current = false;
      await reader.skip(state.remaining + padding(entry.size));
    }
  } finally {
    // An early exit (consumer break or error) releases the source; the first error wins.
    if (!finished) await reader.close().catch(() => {});
  }
}

function isMetaType(typeflag: string): boolean {
  return typeflag === "x" || typeflag === "g" || typeflag === "X" || typeflag === "L" || typeflag === "K";
}

/** Consumes the body of a metadata entry and returns the pending state for the next header. */
async function readMeta(
  h: TarHeader,
  pending: Pending,
  readAll: (n: number) => Promise<Uint8Array>,
  skip: (n: number) => Promise<void>,
): Promise<Pending> {
  if (h.typeflag === "g") {
    await skip(h.size + padding(h.size));
    return pending;
  }
  if (h.size > MAX_META_SIZE) throw new Error(`Cannot read tar entry: ${h.typeflag} header of ${h.size} bytes is too large`);
  const data = await readAll(h.size);
  let next: Pending;
  if (h.typeflag === "L") next = { ...pending, longName: cString(data) };
  else if (h.typeflag === "K") next = { ...pending, longLink: cString(data) };
  else next = { ...pending, pax: parsePax(data, pending.pax) };
  await skip(padding(h.size));
  return next;
}

function cString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return utf8.decode(nul < 0 ? data : data.subarray(0, nul));
}

/** Parses "len key=value\n" records; later records override earlier ones. */
function parsePax(data: Uint8Array, into?: PaxRecords): PaxRecords {
  const pax: PaxRecords = into ? { ...into, xattrs: { ...into.xattrs } } : { xattrs: {} };
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the body with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw new Error("Cannot read pax header: record has no length");
    let len = 0;
    for (let i = pos; i < space; i++) {
      const d = data[i]! - 0x30;
      if (d < 0 || d > 9) throw new Error("Cannot read pax header: invalid record length");
      len = len * 10 + d;
    }
    const end = pos + len;
    if (len <= space - pos || end > data.length || data[end - 1] !== 0x0a) {
      throw new Error("Cannot read pax header: invalid record length");
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end) throw new Error("Cannot read pax header: record has no '='");
    applyPaxRecord(pax, utf8.decode(data.subarray(space + 1, eq)), data.subarray(eq + 1, end - 1));
    pos = end;
  }
  return pax;
}

function paxNumber(key: string, value: Uint8Array, integer: boolean): number {
  const text = utf8.decode(value);
  const n = integer ? (/^\d+$/.test(text) ? Number(text) : NaN) : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    throw new Error(`Cannot read pax header: invalid ${key} "${text}"`);
  }
  return n;
}

function applyPaxRecord(pax: PaxRecords, key: string, value: Uint8Array): void {
  // An empty value removes the record: the header's own field applies again.
  const unset = value.length === 0;
  switch (key) {
    case "path":
      pax.path = unset ? undefined : utf8.decode(value);
      return;
    case "linkpath":
      pax.linkpath = unset ? undefined : utf8.decode(value);
      return;
    case "size":
      pax.size = unset ? undefined : paxNumber(key, value, true);
      return;
    case "uid":
      pax.uid = unset ? undefined : paxNumber(key, value, true);
      return;
    case "gid":
      pax.gid = unset ? undefined : paxNumber(key, value, true);
      return;
    case "mtime":
      pax.mtime = unset ? undefined : paxNumber(key, value, false);
      return;
  }
  if (key.startsWith("SCHILY.xattr.")) {
    const name = key.slice("SCHILY.xattr.".length);
    if (unset) delete pax.xattrs[name];
    else pax.xattrs[name] = value.slice(); // own copy: `value` may view an input chunk
  } else if (key.startsWith("LIBARCHIVE.xattr.")) {
    // libarchive's form: URL-encoded name, base64 value.
    let name: string;
    try {
      name = decodeURIComponent(key.slice("LIBARCHIVE.xattr.".length));
    } catch {
      throw new Error(`Cannot read pax header: invalid xattr name in ${key}`);
    }
    if (unset) delete pax.xattrs[name];
    else pax.xattrs[name] = new Uint8Array(Buffer.from(utf8.decode(value), "base64"));
  } else if (key.startsWith("GNU.sparse.")) {
    throw new Error("Cannot read tar entry: GNU sparse files are not supported");
  }
}

function entryType(typeflag: string, name: string): TarEntryType {
  switch (typeflag) {
    case "0":
    case "7":
      return "file";
    case "\0":
      // Pre-POSIX archives mark directories only by the trailing slash.
      return name.endsWith("/") ? "dir" : "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "3":
      return "char";
    case "4":
      return "block";
    case "5":
    case "D": // GNU incremental dumpdir: a directory whose data lists its contents
      return "dir";
    case "6":
      return "fifo";
    case "S":
      throw new Error("Cannot read tar entry: GNU sparse files are not supported");
    default:
      return "other";
  }
}

/** Builds an entry (without body) from a header and the metadata before it. */
function resolveEntry(h: TarHeader, pending: Pending): Omit<TarEntry, "body"> {
  const pax = pending.pax;
  let path = pax?.path ?? pending.longName ?? h.name;
  const type = entryType(h.typeflag, path);
  if (type === "dir") {
    let end = path.length;
    while (end > 1 && path.charCodeAt(end - 1) === 0x2f) end--;
    path = path.slice(0, end);
  }
  const declared = pax?.size ?? h.size;
  if (declared < 0) throw new Error(`Cannot read tar entry ${path}: negative size`);
  // Links, devices, fifos and directories have no data, whatever the size field says; a
  // hardlink has data only in pax archives (POSIX lets it carry the file's contents).
  let stored = declared;
  if (type === "symlink" || type === "char" || type === "block" || type === "fifo" || h.typeflag === "5") stored = 0;
  else if (type === "hardlink" && !pax) stored = 0;
  return {
    path,
    type,
    linkpath: pax?.linkpath ?? pending.longLink ?? h.linkname,
    mode: h.mode & 0o7777,
    uid: pax?.uid ?? h.uid,
    gid: pax?.gid ?? h.gid,
    size: stored,
    mtime: pax?.mtime ?? h.mtime,
    devmajor: h.devmajor,
    devminor: h.devminor,
    xattrs: pax?.xattrs ?? {},
  };
}

/** Member name as a lookup key: no leading "./" or "/", no "." or empty components. */
function normalizeMemberName(name: string): string {
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts.join("/");
}

function dirnameOf(name: string): string {
  const i = name.lastIndexOf("/");
  return i < 0 ? "" : name.slice(0, i);
}

export interface TarMember {
  /** Byte offset of the member's data in the archive file. */
  offset: number;
  size: number;
}

/**
 * Indexes the regular files of an uncompressed tar file by reading only its headers.
 * Keys are normalized member names; hard and symbolic links to regular members map to their
 * target's data.
 */
export async function indexTarFile(path: string): Promise<Map<string, TarMember>> {
  const fh = await open(path);
  try {
    const fileSize = (await fh.stat()).size;
    const block = new Uint8Array(512);
    const readAt = async (buf: Uint8Array, position: number): Promise<void> => {
      let have = 0;
      while (have < buf.length) {
        const { bytesRead } = await fh.read(buf, have, buf.length - have, position + have);
        if (bytesRead === 0) throw new Error(TRUNCATED);
        have += bytesRead;
      }
    };
    const files = new Map<string, TarMember>();
    // Link name → normalized target name.
    const links = new Map<string, string>();
    let pending: Pending = {};
    let pos = 0;
    let ended = false;
    while (pos + 512 <= fileSize) {
      await readAt(block, pos);
      const h = parseTarHeader(block);
      if (h === "end") {
        ended = true;
        break;
      }
      pos += 512;
      if (isMetaType(h.typeflag)) {
        let at = pos;
        pending = await readMeta(
          h,
          pending,
          async (n) => {
            const buf = new Uint8Array(n);
            await readAt(buf, at);
            at += n;
            return buf;
          },
          async (n) => {
            at += n;
          },
        );
        pos = at;
        continue;
      }
      const entry = resolveEntry(h, pending);
      pending = {};
      const stored = entry.size;
      if (pos + stored > fileSize) throw new Error(TRUNCATED);
      const name = normalizeMemberName(entry.path);
      // Later members replace earlier ones of the same name, as on extraction.
      files.delete(name);
      links.delete(name);
      if (entry.type === "file" || (entry.type === "hardlink" && stored > 0)) {
        files.set(name, { offset: pos, size: stored });
      } else if (entry.type === "hardlink") {
        links.set(name, normalizeMemberName(entry.linkpath));
      } else if (entry.type === "symlink") {
        const t = entry.linkpath;
        links.set(name, normalizeMemberName(t.startsWith("/") ? t : `${dirnameOf(name)}/${t}`));
      }
      pos += stored + padding(stored);
    }
    if (!ended && pos < fileSize) throw new Error(TRUNCATED);
    resolveLinks(files, links);
    return files;
  } finally {
    await fh.close();
  }
}

function resolveLinks(files: Map<string, TarMember>, links: Map<string, string>): void {
  for (const [name, first] of links) {
    let target: string | undefined = first;
    // Follow chains of links, giving up on loops.
    for (let hops = 0; target !== undefined && hops < 40; hops++) {
      const member = files.get(target);
      if (member) {
        files.set(name, member);
        break;
      }
      target = links.get(target);
    }
  }
}
