import { statSync } from "node:fs";
import { digestMatches, newDigester } from "../image/digest";
import type { Paths } from "../paths";
import { blobPath } from "../store/blob-path";

/**
 * Whether the store's copy of a blob is whole: its size, then its digest (read again, as podman's pull
 * effectively does: SHA-256 runs at over 1.5 GB/s here, far above what the registry sends). A blob
 * truncated or damaged on disk is then downloaded again instead of trusted because it exists.
 */
export async function storedBlobIntact(p: Paths, d: { digest: string; size: number }): Promise<boolean> {
  const file = blobPath(p, d.digest);
  if (statSync(file, { throwIfNoEntry: false })?.size !== d.size) return false;
  const hash = newDigester();
  for await (const chunk of Bun.file(file).stream()) hash.update(chunk);
  return digestMatches(hash, d.digest);
}
