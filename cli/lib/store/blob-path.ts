import { existsSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/** Where the blob with this digest lives in the store. */
export function blobPath(p: Paths, digest: string): string {
  const m = DIGEST.exec(digest);
  if (!m) throw new RlError(`unsupported digest ${JSON.stringify(digest)}: rl stores sha256 digests only`);
  return join(p.blobs, "sha256", m[1]!);
}

export function hasBlob(p: Paths, digest: string): boolean {
  return existsSync(blobPath(p, digest));
}
