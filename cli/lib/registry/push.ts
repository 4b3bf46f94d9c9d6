import type { Database } from "bun:sqlite";
import { existsSync, readFileSync, statSync } from "node:fs";
import { RlError } from "../errors";
import { digestMatches, digestOf, newDigester } from "../image/digest";
import { parseJson } from "../image/oci-layout";
import { MEDIA, type Descriptor, type Manifest } from "../image/types";
import type { Paths } from "../paths";
import { blobPath, hasBlob } from "../store/blob-path";
import { putBlobBytes } from "../store/blobs";
import { normalizeName } from "../image/reference";
import { transaction } from "../store/db";
import { parallel } from "./blob-download";
import type { RegistryClient } from "./client";
import { endpointsFor } from "./endpoints";
import { clientFor, type RegistryOptions } from "./options";
import { Progress, type ProgressMode } from "./progress";
import { findPulled } from "./pull-policy";
import { formatRef, manifestReference, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

export interface PushOptions extends RegistryOptions {
  progress: ProgressMode;
}

/** Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size. */
const MONOLITHIC = 32 << 20;
const CHUNK = 16 << 20;

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes("?") ? "&" : "?"}digest=${encodeURIComponent(digest)}`;
}

function locationOf(res: Response, what: string): string {
  const loc = res.headers.get("location");
  if (!loc) throw new RlError(`the registry sent no upload location for ${what}`);
  return loc;
}

/** Bytes read from a file for one request are reported this many at a time, as the request body is sent. */
const REPORT = 1 << 20;

/**
 * The digest of a blob's bytes, taken as upload bodies read them in order (a retried body repeats
 * offsets already hashed: those are skipped). What the store holds is checked as it is sent, not read twice.
 */
class SentDigest {
  private readonly hash = newDigester();
  private pos = 0;
  constructor(private readonly d: Descriptor) {}

  /** Hash `bytes` read at `offset`; false when they complete the blob and it does not match its digest. */
  add(offset: number, bytes: Uint8Array): boolean {
    if (offset <= this.pos && offset + bytes.length > this.pos) {
      const fresh = bytes.subarray(this.pos - offset);
      this.hash.update(fresh);
      this.pos += fresh.length;
    }
    return this.pos < this.d.size || digestMatches(this.hash, this.d.digest);
  }
}

/**
 * The bytes `start..end` of `file` as a request body that calls `sent(offset)` as each piece is taken by the
 * connection. A body is made again for each attempt of a request: offsets can repeat, callers keep the highest.
 * The last piece of a blob whose bytes do not match its digest is never sent: the body fails with `damaged`
 * instead, so the registry never receives (and never commits) the whole blob.
 */
function fileBody(file: string, start: number, end: number, sent: (offset: number) => void, check: SentDigest, damaged: () => Error): ReadableStream<Uint8Array> {
  const blob = Bun.file(file);
  let pos = start;
  return new ReadableStream({
    async pull(ctl) {
      if (pos >= end) return ctl.close();
      const next = Math.min(pos + REPORT, end);
      const bytes = await blob.slice(pos, next).bytes();
      if (bytes.length !== next - pos || !check.add(pos, bytes)) return ctl.error(damaged());
      ctl.enqueue(bytes);
      pos = next;
      sent(pos);
    },
  });
}

function damagedBlob(d: Descriptor, source: string): RlError {
  return new RlError(`blob ${d.digest} of ${source} is damaged in the store (its bytes do not match its digest): rl pull or rl load the image again`);
}

/** Upload one blob unless the repository has it; mount it from `from` (same registry) when possible. */
async function pushBlob(c: RegistryClient, d: Descriptor, file: string, source: string, from: string[], onBytes: (n: number) => void): Promise<"exists" | "mounted" | "uploaded"> {
  const head = await c.request("HEAD", `${c.o.repository}/blobs/${d.digest}`, { accept: [404] });
  if (head.status === 200) return "exists";
  let start: Response | undefined;
  for (const repo of from) {
    const res = await c.request("POST", `${c.o.repository}/blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(repo)}`, { accept: [201, 202] });
    if (res.status === 201) return "mounted";
    await res.body?.cancel();
    start = res; // 202: the registry opened an ordinary upload instead
    break;
  }
  start ??= await c.request("POST", `${c.o.repository}/blobs/uploads/`, { accept: [202] });
  let location = locationOf(start, d.digest);
  let reported = 0;
  const check = new SentDigest(d);
  const damaged = () => damagedBlob(d, source);
  const sent = (offset: number) => {
    if (offset > reported) onBytes(offset - reported);
    reported = Math.max(reported, offset);
  };
  if (d.size <= MONOLITHIC) {
    await c.request("PUT", withDigest(location, d.digest), {
      headers: { "content-type": "application/octet-stream", "content-length": String(d.size) },
      body: () => fileBody(file, 0, d.size, sent, check, damaged),
      accept: [201],
    });
    return "uploaded";
  }
  for (let off = 0; off < d.size; off += CHUNK) {
    const end = Math.min(off + CHUNK, d.size);
    const res = await c.request("PATCH", location, {
      headers: { "content-type": "application/octet-stream", "content-range": `${off}-${end - 1}`, "content-length": String(end - off) },
      body: () => fileBody(file, off, end, sent, check, damaged),
      accept: [202],
    });
    location = locationOf(res, d.digest);
  }
  await c.request("PUT", withDigest(location, d.digest), { headers: { "content-length": "0" }, accept: [201] });
  return "uploaded";
}

/** The manifest that came with `name` (an image id can stand for several manifests), else the image's own. */
function manifestToPush(d: Database, p: Paths, id: string, name: string | undefined): Uint8Array | undefined {
  if (name) {
    const repo = name.replace(/(@sha256:[0-9a-f]{64}|:[^:/]+)$/, "");
    const prefix = `${repo}@`;
    const row = d.query("SELECT manifest_digest FROM image_repo_digests WHERE image_id = ? AND substr(repo_digest, 1, ?) = ? ORDER BY created DESC").get(id, prefix.length, prefix) as { manifest_digest: string } | null;
    if (row && hasBlob(p, row.manifest_digest)) {
      const bytes = new Uint8Array(readFileSync(blobPath(p, row.manifest_digest)));
      if (digestOf(bytes) === row.manifest_digest) return bytes;
    }
  }
  const row = d.query("SELECT manifest FROM images WHERE id = ?").get(id) as { manifest: Uint8Array | null };
  return row.manifest ? new Uint8Array(row.manifest) : undefined;
}

/** Push a stored image to `dest` (default: its own name); returns the pushed manifest's digest. */
export async function pushImage(d: Database, p: Paths, source: string, dest: string | undefined, o: PushOptions): Promise<string> {
  const img = findPulled(d, source);
  if (!img) throw new RlError(`image ${source} is not in the local store`);
  const sourceName = img.names.find((n) => n === normalizeName(source));
  const manifestBytes = manifestToPush(d, p, img.id, sourceName);
  if (!manifestBytes) throw new RlError(`image ${source} has no manifest in the store (it was stored by an older rl): pull or load it again`);
  const manifest = parseJson<Manifest>(manifestBytes, `manifest of ${source}`);
  const ref = parseRegistryRef(dest ?? sourceName ?? source);
  if (!ref.registry) throw new RlError(`cannot push to ${JSON.stringify(dest ?? source)}: name a registry (e.g. localhost:5000/${ref.repository})`);
  if (ref.digest) throw new RlError(`cannot push to a digest reference: name a tag`);
  const [e] = endpointsFor(ref, loadRegistriesConf(), { tlsVerify: o.tlsVerify, forPush: true });
  const c = clientFor(e!, "pull,push", o);
  // Repositories on the same registry that hold this image: candidates for cross-repository mounts.
  const from = (d.query("SELECT repo_digest FROM image_repo_digests WHERE image_id = ?").all(img.id) as { repo_digest: string }[])
    .map((r) => r.repo_digest.split("@")[0]!)
    .filter((n) => n.startsWith(`${ref.registry}/`) && n !== `${ref.registry}/${ref.repository}`)
    .map((n) => n.slice(ref.registry.length + 1));
  const progress = new Progress(o.progress);
  progress.line(`Pushing ${formatRef(ref)}`);
  try {
    if (!hasBlob(p, manifest.config.digest)) {
      // Images stored from other sources keep their config in the database: put it in the blob store.
      const row = d.query("SELECT config FROM images WHERE id = ?").get(img.id) as { config: string | Uint8Array };
      const bytes = typeof row.config === "string" ? new TextEncoder().encode(row.config) : new Uint8Array(row.config);
      if (digestOf(bytes) !== manifest.config.digest) throw new RlError(`the config blob ${manifest.config.digest} of ${source} is missing from the store`);
      await putBlobBytes(p, manifest.config.digest, bytes);
    }
    await parallel([manifest.config, ...manifest.layers], 3, async (b) => {
      const file = blobPath(p, b.digest);
      if (!existsSync(file)) throw new RlError(`blob ${b.digest} of ${source} is missing from the store: rl pull or rl load the image again`);
      if (statSync(file).size !== b.size) throw damagedBlob(b, source);
      const bar = progress.add(b.digest.slice(7, 19), b.size);
      try {
        const how = await pushBlob(c, b, file, source, from, bar.bytes);
        bar.finish(how === "uploaded" ? "done" : how);
      } catch (err) {
        bar.finish("failed");
        throw err;
      }
    });
    const mediaType = (manifest as { mediaType?: string }).mediaType ?? MEDIA.ociManifest;
    await c.request("PUT", `${c.o.repository}/manifests/${manifestReference(ref)}`, { headers: { "content-type": mediaType }, body: () => new Blob([manifestBytes as Uint8Array<ArrayBuffer>]), accept: [201] });
  } finally {
    progress.stop();
  }
  const digest = digestOf(manifestBytes);
  transaction(d, p.db, () => {
    d.query("INSERT OR REPLACE INTO image_repo_digests (image_id, repo_digest, manifest_digest, created) VALUES (?, ?, ?, ?)").run(img.id, `${ref.registry}/${ref.repository}@${digest}`, digest, Date.now());
  });
  progress.stop();
  progress.line(`Pushed ${formatRef(ref)} (digest ${digest})`);
  return digest;
}
