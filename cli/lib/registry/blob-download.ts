import { RlError } from "../errors";
import { debug } from "../log";
import { putBlob } from "../store/blobs";
import type { StoreWrite } from "../store/store-write";
import type { Descriptor } from "../image/types";
import type { RegistryClient } from "./client";
import { isNetworkError, networkWords } from "./network-error";
import { StallError } from "./watchdog";

const RESUMES = 5;

/**
 * The bytes of a blob, resumed with `Range: bytes=N-` when the connection drops or stalls midway (a
 * registry that ignores Range sends it all again: the bytes already had are skipped). As in
 * containers/image, a stalled connection is resumed only after it brought something: a registry that
 * stalls at the same byte every time fails the pull after one more wait, not after five.
 */
export async function* blobChunks(c: RegistryClient, d: Descriptor, onBytes: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  let got = 0;
  for (let resumes = 0; ; resumes++) {
    const res = await c.request("GET", `${c.o.repository}/blobs/${d.digest}`, { headers: got ? { range: `bytes=${got}-` } : {}, follow: true, what: `blob ${d.digest}` });
    let skip = got && res.status !== 206 ? got : 0;
    const from = got;
    try {
      if (!res.body) throw new RlError(`blob ${d.digest}: empty response`);
      for await (const chunk of res.body) {
        let c2 = chunk as Uint8Array;
        if (skip) {
          const n = Math.min(skip, c2.length);
          skip -= n;
          c2 = c2.subarray(n);
          if (!c2.length) continue;
        }
        got += c2.length;
        onBytes(c2.length);
        yield c2;
      }
      if (got >= d.size) return;
      throw Object.assign(new TypeError(`connection closed after ${got} of ${d.size} bytes`), { code: "ECONNRESET" });
    } catch (err) {
      // A connection that stalls again before bringing anything new is a stalled registry: each wait costs a
      // whole timeout, so it is not asked again. A dropped one costs little, and is.
      if (signal?.aborted || !isNetworkError(err) || resumes >= RESUMES || (got === from && err instanceof StallError)) {
        if (err instanceof RlError || signal?.aborted) throw err;
        const why = err instanceof StallError ? err.message : networkWords(err);
        throw new RlError(`downloading blob ${d.digest} failed after ${got} of ${d.size} bytes: ${why}`);
      }
      debug(`blob ${d.digest}: ${(err as Error).message}; resuming at byte ${got}`);
      await res.body?.cancel().catch(() => {});
      await Bun.sleep(200 * 2 ** resumes);
    }
  }
}

/**
 * Download a blob into the store as part of the store write `w`, verified against its digest and size while
 * it streams. `tmp`: the temp file it is written to (see putBlob), for a reader that follows it.
 */
export function downloadBlob(w: StoreWrite, c: RegistryClient, d: Descriptor, onBytes: (n: number) => void, signal?: AbortSignal, tmp?: string): Promise<string> {
  return putBlob(w.p, d.digest, blobChunks(c, d, onBytes, signal), d.size, w, tmp);
}

/** Run `fn` on every item, at most `limit` at a time; the first failure stops new work and is thrown. */
export async function parallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
