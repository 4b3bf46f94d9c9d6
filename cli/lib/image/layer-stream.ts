import { createGunzip, createZstdDecompress } from "node:zlib";
import { Readable } from "node:stream";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { LayerSource } from "./types";
import { expansionError, expansionLimit, sniff, type Compression } from "./compression";
import { ZstdFrameScanner } from "../../../core-as/index";
import { digestMatches, newDigester } from "./digest";

const CHUNK = 1 << 18; // node:zlib's 16 KiB default costs 1.6-1.8x on big layers

export class DigestMismatch extends Error {}


/** What a fully read layer turned out to be. */
export interface LayerDigests {
  /** Digest and size of the bytes as stored (compressed). */
  digest: string;
  size: number;
  /** Digest and size of the uncompressed tar. */
  diffId: string;
  diffSize: number;
  compression: Compression;
}


/**
 * The layer's uncompressed tar bytes, streamed: the stored bytes are hashed against the descriptor
 * digest and the uncompressed bytes against the diff_id. `verify()` must be called after the stream
 * is fully read; it throws DigestMismatch. A layer whose diff_id is not known yet (import) has diffId "":
 * verify() then only reports it.
 */
export function openLayer(
  layer: LayerSource,
  /** Also gets every stored (compressed) chunk: how the store keeps the blob in the same pass. */
  tee?: (stored: Uint8Array) => void,
): { chunks: AsyncIterable<Uint8Array>; verify: () => LayerDigests } {
  const stored = newDigester();
  const plain = newDigester();
  let storedBytes = 0;
  let finished = false;
  let plainBytes = 0;
  let kind: Compression = "none";

  // A blob that is still downloading is hashed by its download, which fails the pull on a mismatch
  // (and the layers unpacked meanwhile go with it): hashing it here too would only cost time.
  const hashStored = !layer.growing;
  async function* raw(): AsyncGenerator<Uint8Array> {
    const source = layer.growing ? followFile(layer.file, layer.size, layer.growing.final) : Bun.file(layer.file).slice(layer.offset, layer.offset + layer.size).stream();
    for await (const c of source) {
      if (hashStored) stored.update(c);
      tee?.(c);
      storedBytes += c.length;
      yield c;
    }
  }

  async function* chunks(): AsyncGenerator<Uint8Array> {
    const it = raw()[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) throw new DigestMismatch(`layer ${layer.digest ?? layer.diffId} is empty`);
    kind = sniff(first.value);
    async function* all() {
      yield first.value!;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    }
    let source: AsyncIterable<Uint8Array> = all();
    const frames = kind === "zstd" ? new ZstdFrameScanner() : undefined;
    if (frames) {
      const inner = source;
      source = (async function* () {
        for await (const c of inner) {
          frames.update(c);
          yield c;
        }
      })();
    }
    if (kind !== "none") {
      const dec = kind === "gzip" ? createGunzip({ chunkSize: CHUNK }) : createZstdDecompress({ chunkSize: CHUNK });
      // pipe() does not pass a failure of its source on: the decompressor must end with it.
      const input = Readable.from(source);
      input.on("error", (err) => dec.destroy(err));
      source = input.pipe(dec);
    }
    // A compressed layer that inflates far past its size is stopped here, not after it filled the disk.
    const limit = kind === "none" ? Infinity : expansionLimit(layer.size).limit;
    for await (const c of source) {
      const bytes = c instanceof Uint8Array ? c : new Uint8Array(c);
      plain.update(bytes);
      plainBytes += bytes.length;
      if (plainBytes > limit) throw expansionError(layer.digest ?? layer.diffId, layer.size);
      yield bytes;
    }
    const framing = frames?.finish();
    if (framing === "truncated") throw new DigestMismatch(`layer ${layer.digest ?? layer.diffId} is truncated: its zstd stream ends inside a frame`);
    if (framing === "bad") throw new DigestMismatch(`layer ${layer.digest ?? layer.diffId} is not a valid zstd stream`);
    finished = true;
  }

  return {
    chunks: chunks(),
    verify() {
      if (!finished) throw new DigestMismatch(`layer ${layer.diffId} was not read to its end`);
      if (layer.digest) {
        if (storedBytes !== layer.size) throw new DigestMismatch(`layer ${layer.digest} has ${storedBytes} bytes, its descriptor says ${layer.size}`);
        if (hashStored && !digestMatches(stored, layer.digest)) throw new DigestMismatch(`layer ${layer.digest} does not match its digest (got ${stored.digest()})`);
      }
      if (layer.diffId !== "" && !digestMatches(plain, layer.diffId)) {
        const of = layer.digest ? `layer ${layer.digest}` : "layer";
        throw new DigestMismatch(`${of} does not match its diff_id ${layer.diffId} (got ${plain.digest()})`);
      }
      return { digest: hashStored || !layer.digest ? stored.digest() : layer.digest, size: storedBytes, diffId: plain.digest(), diffSize: plainBytes, compression: kind };
    },
  };
}

const FOLLOW_CHUNK = 1 << 20;

/**
 * The first `size` bytes of a file another process is still writing (a blob being downloaded), as they
 * arrive. When the file is removed before it is complete, its writer failed: reading fails too. When it is
 * gone before it was opened, it has landed at `final` (complete), or its writer failed.
 */
async function* followFile(path: string, size: number, final: string): AsyncGenerator<Uint8Array> {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    try {
      fd = openSync(final, "r");
    } catch {
      throw new DigestMismatch(`the download of ${final.split("/").pop()} failed before it could be unpacked`);
    }
  }
  try {
    for (let got = 0; got < size; ) {
      const buf = new Uint8Array(Math.min(FOLLOW_CHUNK, size - got));
      const n = readSync(fd, buf, 0, buf.length, got);
      if (n > 0) {
        got += n;
        yield n === buf.length ? buf : buf.subarray(0, n);
        continue;
      }
      if (fstatSync(fd).nlink === 0) throw new DigestMismatch(`the download of ${final.split("/").pop()} failed after ${got} of ${size} bytes`);
      await Bun.sleep(5);
    }
  } finally {
    closeSync(fd);
  }
}
