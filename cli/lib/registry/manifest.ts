import { RlError } from "../errors";
import { digestOf } from "../image/digest";
import { parseJson } from "../image/oci-layout";
import { MEDIA, type Index, type Manifest } from "../image/types";
import type { RegistryClient } from "./client";
import { LIMITS } from "./limits";

export const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest, MEDIA.dockerSchema1Signed, MEDIA.dockerSchema1].join(", ");

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  value: Manifest & Index;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList;
}

/** GET a manifest by tag or digest; a digest reference must match the bytes received. */
export async function fetchManifest(c: RegistryClient, reference: string): Promise<FetchedManifest> {
  const what = `the manifest of ${c.o.repository}${reference.startsWith("sha256:") ? "@" : ":"}${reference}`;
  const { res, bytes } = await c.fetchBytes(`${c.o.repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT }, follow: true }, LIMITS.manifest, what);
  const digest = digestOf(bytes);
  if (reference.startsWith("sha256:") && digest !== reference) throw new RlError(`${c.host}: manifest ${reference} does not match its digest (got ${digest})`);
  const header = res.headers.get("docker-content-digest");
  if (header?.startsWith("sha256:") && header !== digest) throw new RlError(`${c.host}: manifest of ${c.o.repository}:${reference} does not match the digest the registry sent (${header})`);
  const value = parseJson<Manifest & Index>(bytes, `${what} from ${c.host}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RlError(`${what} from ${c.host} is not a JSON object`);
  const contentType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  const mediaType = value.mediaType ?? (Array.isArray(value.manifests) ? MEDIA.ociIndex : contentType || MEDIA.ociManifest);
  if (value.schemaVersion === 1 || mediaType === MEDIA.dockerSchema1 || mediaType === MEDIA.dockerSchema1Signed) {
    throw new RlError(`${c.o.repository}:${reference} is a Docker schema 1 image, which rl does not support (push it again with a current docker or skopeo)`);
  }
  return { digest, mediaType, bytes, value };
}
