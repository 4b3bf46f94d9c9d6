/**
 * Streaming tar reader (ustar, GNU, pax) over the WASM core's tar header reader, and a header-only
 * index of tar files on disk. The core parses headers and metadata records; this file does the I/O.
 */
import { open } from "node:fs/promises";
import { TarHeaderReader, type EntryKind, type TarEntryHeader } from "../../../core-as/index";

export type TarEntryType = EntryKind;

export interface TarEntry extends TarEntryHeader {
  /**
   * The entry's data as views into the input chunks (not copies). Read it before asking for
   * the next entry; whatever is left unread then is skipped.
   */
  body: AsyncIterable<Uint8Array>;
}

const TRUNCATED = "unexpected end of tar stream";
const EMPTY = new Uint8Array(0);

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

  /** The next `n` bytes as a view if the current chunk holds all of them. */
  takeNow(n: number): Uint8Array | undefined {
    if (this.chunk.length - this.pos < n) return undefined;
    const p = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    return p;
  }

  /** Skips `n` bytes if the current chunk holds them; false (nothing skipped) if not. */
  skipNow(n: number): boolean {
    if (this.chunk.length - this.pos < n) return false;
    this.pos += n;
    return true;
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

/** Feeds a metadata entry's body to the core, `read(max)` giving up to `max` (> 0) bytes at a time. */
async function readMeta(tar: TarHeaderReader, read: (max: number) => Promise<Uint8Array>): Promise<number> {
  const size = tar.metaSize;
  for (let left = size; left > 0; ) {
    const piece = await read(left);
    tar.metaData(piece);
    left -= piece.length;
  }
  tar.metaEnd();
  return size;
}

/**
 * Reads the rest of a sparse file's map (where tar.sparseMapIn says), `next` giving each 512-byte
 * block; returns how many bytes of the entry's data it took.
 */
async function readSparseMap(tar: TarHeaderReader, next: () => Promise<Uint8Array | undefined>): Promise<number> {
  let taken = 0;
  while (tar.sparseMapIn) {
    if (tar.sparseMapIn === "data") taken += 512;
    const block = await next();
    if (!block) throw new Error(TRUNCATED);
    tar.sparseBlock(block);
  }
  return taken;
}

/**
 * Yields the entries of a tar stream in order. Metadata entries are not yielded: pax 'x' and GNU
 * 'L'/'K' apply to the next entry, a global pax 'g' header is checked and dropped (as docker and
 * podman do). A GNU sparse file (any of its forms) comes with its map, its body being the bytes of
 * its segments. Reads the input to its end, also past the end-of-archive blocks.
 */
export async function* tarEntries(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  const reader = new ChunkReader(chunks[Symbol.asyncIterator]());
  const tar = new TarHeaderReader();
  let finished = false;
  try {
    for (;;) {
      const block = reader.blockNow() ?? (await reader.block());
      if (!block) {
        if (tar.pendingMeta) throw new Error(TRUNCATED);
        finished = true;
        return;
      }
      const h = tar.header(block);
      if (h === "end") {
        await reader.drain();
        finished = true;
        return;
      }
      if (h === "meta") {
        // Without awaiting when the body is in the current chunk (nearly always).
        const size = tar.metaSize;
        const whole = reader.takeNow(size);
        if (whole) {
          tar.metaData(whole);
          tar.metaEnd();
        } else await readMeta(tar, (n) => reader.piece(n));
        if (!reader.skipNow(padding(size))) await reader.skip(padding(size));
        continue;
      }
      if (tar.sparseMapIn) h.size -= await readSparseMap(tar, () => reader.block());
      const state: BodyState = { remaining: h.size, current: true };
      yield Object.assign(h, { body: bodyOf(reader, state) });
      state.current = false;
      const rest = state.remaining + padding(h.size);
      if (!reader.skipNow(rest)) await reader.skip(rest);
    }
  } finally {
    // An early exit (consumer break or error) releases the source; the first error wins.
    if (!finished) await reader.close().catch(() => {});
  }
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
    const tar = new TarHeaderReader();
    let pos = 0;
    let ended = false;
    while (pos + 512 <= fileSize) {
      await readAt(block, pos);
      const entry = tar.header(block);
      if (entry === "end") {
        ended = true;
        break;
      }
      pos += 512;
      if (entry === "meta") {
        const size = await readMeta(tar, async (n) => {
          const piece = new Uint8Array(Math.min(n, 1 << 20));
          await readAt(piece, pos);
          pos += piece.length;
          return piece;
        });
        pos += padding(size);
        continue;
      }
      if (tar.sparseMapIn) {
        entry.size -= await readSparseMap(tar, async () => {
          if (pos + 512 > fileSize) return undefined;
          await readAt(block, pos);
          pos += 512;
          return block;
        });
      }
      const stored = entry.size;
      if (pos + stored > fileSize) throw new Error(TRUNCATED);
      const name = normalizeMemberName(entry.path);
      // Later members replace earlier ones of the same name, as on extraction.
      files.delete(name);
      links.delete(name);
      // A sparse file's data is not one range of the archive: not a member to read in place.
      if ((entry.type === "file" && !entry.sparse) || (entry.type === "hardlink" && stored > 0)) {
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
