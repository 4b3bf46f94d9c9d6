import { closeSync, existsSync, fsync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { promisify } from "node:util";
import { writeAll } from "../write-all";
import { join } from "node:path";
import { RlError } from "../errors";
import { digestMatches, newDigester } from "../image/digest";
import type { Paths } from "../paths";
import type { StoreWrite } from "./store-write";
import { tmpName } from "./tmp-name";
import { blobPath } from "./blob-path";

/**
 * Stream bytes into the store as the blob `digest`. The bytes are hashed as they are written to a temp
 * file, which is renamed into place only when digest (and size, if given) match: a reader never sees a
 * partial or wrong blob. `w`: the store write the blob belongs to, which claims it before it lands (so
 * it goes when the write fails); without one, the blob must already be referenced by an image.
 * `tmp`: the temp file to write (created before this returns its promise, so others can read it as it
 * grows); by default a fresh name in tmp/. Returns the blob's path.
 */
export async function putBlob(p: Paths, digest: string, chunks: AsyncIterable<Uint8Array>, size?: number, w?: StoreWrite, tmp = ""): Promise<string> {
  const dest = blobPath(p, digest);
  if (existsSync(dest)) {
    for await (const _ of chunks); // drain the source so callers that tee it still finish
    return dest;
  }
  mkdirSync(join(p.blobs, "sha256"), { recursive: true, mode: 0o700 });
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  tmp ||= tmpName(p, "blob");
  const fd = openSync(tmp, "wx", 0o600);
  const hash = newDigester();
  let written = 0;
  try {
    for await (const c of chunks) {
      hash.update(c);
      writeAll(fd, c);
      written += c.length;
      if (size !== undefined && written > size) throw new RlError(`blob ${digest} is larger than its declared size ${size}`);
    }
    if (size !== undefined && written !== size) throw new RlError(`blob ${digest} has ${written} bytes, its descriptor says ${size}`);
    if (!digestMatches(hash, digest)) throw new RlError(`blob ${digest} does not match its digest (got ${hash.digest()})`);
    // On Bun's I/O threads: syncing a 100 MiB blob can take a second on a busy disk, and the other
    // downloads of a pull (and their unpacking) go on meanwhile.
    await fsyncAsync(fd);
    closeSync(fd);
    w?.claim("blob", [digest.slice("sha256:".length)]);
    renameSync(tmp, dest);
    return dest;
  } catch (err) {
    try {
      closeSync(fd);
    } catch {}
    rmSync(tmp, { force: true });
    throw err;
  }
}

const fsyncAsync = promisify(fsync);

/** putBlob for bytes already in memory (manifests, configs). */
export function putBlobBytes(p: Paths, digest: string, bytes: Uint8Array, w?: StoreWrite): Promise<string> {
  return putBlob(p, digest, (async function* () { yield bytes; })(), bytes.length, w);
}
