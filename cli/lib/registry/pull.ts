import type { Database } from "bun:sqlite";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { limiter } from "../limiter";
import { RlError, messageOf } from "../errors";
import { debug, warnOnce } from "../log";
import { chainIds, digestOf } from "../image/digest";
import { layerSourcesFor } from "../image/layers";
import { parseJson } from "../image/oci-layout";
import { formatPlatform, selectManifest } from "../image/platform";
import type { ImageConfig, Platform, ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import type { IdMapping } from "../security/idmap";
import { blobPath, hasBlob } from "../store/blob-path";
import { putBlobBytes } from "../store/blobs";
import { tmpName } from "../store/tmp-name";
import type { StoredImage } from "../store/images";
import { prepareImage, recordImages, unpackMissing } from "../store/store-image";
import { withStoreWrite, type StoreWrite } from "../store/store-write";
import type { LayerDigests } from "../image/layer-stream";
import { downloadBlob, parallel } from "./blob-download";
import type { RegistryClient } from "./client";
import { endpointsFor, type Endpoint } from "./endpoints";
import { LIMITS } from "./limits";
import { localFailure } from "./local-failure";
import { storedBlobIntact } from "./stored-blob";
import { fetchManifest, isIndexType, type FetchedManifest } from "./manifest";
import { clientFor, type RegistryOptions } from "./options";
import { mib, Progress, type ProgressMode } from "./progress";
import { formatRef, manifestReference, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

export interface PullOptions extends RegistryOptions {
  platform: Platform;
  progress: ProgressMode;
  /**
   * --pull newer: the image stored under this name. It is kept when the registry has the same manifest,
   * and used (with a warning) when the registry cannot be asked or the pull fails.
   */
  stored?: StoredImage;
}

const PARALLEL = 3;

/** The manifest for `platform`: the tagged one, or the one an index lists for it. */
async function platformManifest(c: RegistryClient, reference: string, platform: Platform): Promise<{ top: FetchedManifest; image: FetchedManifest }> {
  const top = await fetchManifest(c, reference);
  if (!isIndexType(top.mediaType)) return { top, image: top };
  const chosen = selectManifest(top.value.manifests ?? [], platform, `${c.host}/${c.o.repository}:${reference}`);
  const image = await fetchManifest(c, chosen.digest);
  if (isIndexType(image.mediaType)) throw new RlError(`${c.host}/${c.o.repository}: nested indexes are not supported`);
  return { top, image };
}

/** The error of one endpoint, naming its host when the message does not already; a failure of this machine (a full disk) is not the registry's. */
function fromEndpoint(err: unknown, e: Endpoint, p: Paths): unknown {
  const local = localFailure(err, p);
  if (local) return local;
  if (!(err instanceof Error) || err.message.includes(e.host)) return err;
  return new RlError(`${e.host}: ${err.message}`, err instanceof RlError ? err.exitCode : undefined);
}

/** Whether the manifest found is the one `stored` was pulled as (its index's digest, or its platform's manifest). */
function isStored(d: Database, stored: StoredImage, e: Endpoint, found: { top: FetchedManifest; image: FetchedManifest }): boolean {
  const rows = d.query("SELECT repo_digest, manifest_digest FROM image_repo_digests WHERE image_id = ?").all(stored.id) as { repo_digest: string; manifest_digest: string }[];
  const repo = `${e.ref.registry}/${e.ref.repository}@`;
  return rows.some((r) => r.repo_digest.startsWith(repo) && (r.repo_digest === `${repo}${found.top.digest}` || r.manifest_digest === found.image.digest));
}

/**
 * The error of a short name that no unqualified-search registry had: each registry's own, after the
 * full name it was looked for under (`no registry had it: a:5000/x:latest: connection refused; ...`).
 */
function noRegistryHadIt(failures: Map<string, { e: Endpoint; err: unknown }>): RlError {
  const each = [...failures].map(([name, { e, err }]) => {
    const message = messageOf(err);
    // The host is in the name already when the registry answers at its own address.
    return `${name}: ${e.host === e.ref.registry && message.startsWith(`${e.host}: `) ? message.slice(e.host.length + 2) : message}`;
  });
  return new RlError(`no registry had it: ${each.join("; ")}`);
}

/**
 * Pull `text` from a registry into the store and return the stored image. All or nothing: the blobs
 * it downloads and the layers it unpacks are one store write, removed when the pull fails. Each endpoint
 * (mirrors, then the registry) is tried for the whole pull: a mirror that serves the manifest but fails a
 * blob hands over to the next. When all of a registry's fail, its own error (its last endpoint's) is
 * reported; for a short name that several unqualified-search registries were tried for, each one's.
 * The store's debris is cleared already (Session.cleaned).
 */
export async function pullImage(d: Database, p: Paths, text: string, mapping: IdMapping, o: PullOptions): Promise<StoredImage> {
  const ref = parseRegistryRef(text);
  const endpoints = endpointsFor(ref, loadRegistriesConf(), { tlsVerify: o.tlsVerify });
  let lastError: unknown;
  /** By the full name each registry was asked for: its last endpoint's error. */
  const failures = new Map<string, { e: Endpoint; err: unknown }>();
  // Credentials are read first: a bad auth file is the user's to fix, not one registry's failure.
  const clients = endpoints.map((e) => clientFor(e, "pull", o));
  for (const [i, e] of endpoints.entries()) {
    const progress = new Progress(o.progress);
    try {
      const c = clients[i]!;
      const found = await platformManifest(c, manifestReference(ref), o.platform);
      if (o.stored && isStored(d, o.stored, e, found)) {
        progress.line(`${formatRef(e.ref)} is up to date (digest ${found.top.digest})`);
        return o.stored;
      }
      return await withStoreWrite(d, p, (w) => fetchAndStore(w, c, e, found, mapping, o, progress));
    } catch (err) {
      progress.stop();
      if (o.signal?.aborted) throw err;
      lastError = fromEndpoint(err, e, p);
      failures.set(formatRef(e.ref), { e, err: lastError });
      const next = endpoints[i + 1];
      if (next) progress.line(`Failed on ${e.host}/${e.repository}: ${messageOf(err)}; trying ${next.host}/${next.repository}`);
    }
  }
  const error = failures.size > 1 ? noRegistryHadIt(failures) : lastError;
  if (o.stored) {
    warnOnce(`cannot check for a newer ${text}, using the stored image ${o.stored.id.slice(7, 19)}: ${messageOf(error)}`);
    return o.stored;
  }
  throw error;
}

async function fetchAndStore(w: StoreWrite, c: RegistryClient, e: Endpoint, found: { top: FetchedManifest; image: FetchedManifest }, mapping: IdMapping, o: PullOptions, progress: Progress): Promise<StoredImage> {
  const { d, p } = w;
  const name = formatRef(e.ref);
  const m = found.image.value;
  if (!m.config?.digest || !Array.isArray(m.layers)) throw new RlError(`${name}: manifest ${found.image.digest} has no config or layers`);
  progress.line(`Pulling ${name} (${formatPlatform(o.platform)}) from ${e.host}`);
  const config = await fetchConfig(w, c, m.config);
  const sources = layerSourcesFor(m.layers.map((l) => ({ ...l, range: { file: blobPath(p, l.digest), offset: 0, size: l.size } })), config.value);
  const chains = chainIds(sources.map((l) => l.diffId));
  // Each layer is unpacked by a worker process as its blob downloads: the worker follows the blob's temp
  // file as it grows. Such a worker waits for bytes, not for a CPU, so these get a gate of their own, one
  // more than the downloads that run at once (a stalled download must not hold up the other layers).
  // Layers whose blob is stored already get one worker per CPU. Of the layers waiting, the largest goes
  // first: it takes longest.
  const slot = limiter(Number(process.env.RL_UNPACK_WORKERS) || availableParallelism());
  const followSlot = limiter(PARALLEL + 1);
  const unpacks: Promise<void>[] = [];
  const unpacked = new Map<string, LayerDigests>();
  let unpackFailed = false;
  const unpack = (i: number, downloadTo?: string) => {
    const job = (downloadTo ? followSlot : slot)(async () => {
      if (o.signal?.aborted || unpackFailed) return;
      try {
        debug(`unpacking layer ${i + 1} of ${sources.length}`);
        const final = sources[i]!.file;
        const source = downloadTo && !existsSync(final) ? { ...sources[i]!, file: downloadTo, growing: { final } } : sources[i]!;
        for (const [k, v] of await unpackMissing(w, [{ ...source, chainId: chains[i]! }], mapping)) unpacked.set(k, v);
        debug(`unpacked layer ${i + 1} of ${sources.length}`);
      } catch (err) {
        unpackFailed = true;
        throw err;
      }
    }, sources[i]!.size);
    job.catch(() => {}); // awaited below; a failure must not end the process as unhandled first
    unpacks.push(job);
  };
  // Every unpack is waited for, also when a download fails, so that no worker is left writing to the store.
  let settled: PromiseSettledResult<void>[] = [];
  try {
    await parallel(m.layers.map((l, i) => ({ l, i })), PARALLEL, async ({ l, i }) => {
      const bar = progress.add(l.digest.slice(7, 19), l.size);
      if (hasBlob(p, l.digest)) {
        if (await storedBlobIntact(p, l)) {
          bar.finish("exists");
          return unpack(i);
        }
        // Damaged in the store (a disk error, a truncated copy): replaced by the download below.
        progress.line(`Blob ${l.digest.slice(7, 19)} in the store does not match its digest: downloading it again`);
        rmSync(blobPath(p, l.digest), { force: true });
      }
      const tmp = tmpName(p, "blob");
      const download = downloadBlob(w, c, l, bar.bytes, o.signal, tmp);
      unpack(i, tmp);
      try {
        await download;
        bar.finish("done");
      } catch (err) {
        bar.finish("failed");
        throw err;
      }
    });
  } finally {
    settled = await Promise.allSettled(unpacks);
  }
  for (const r of settled) if (r.status === "rejected") throw r.reason;
  if (o.signal?.aborted) throw new RlError("interrupted");
  await putBlobBytes(p, found.image.digest, found.image.bytes, w);
  if (found.top !== found.image) await putBlobBytes(p, found.top.digest, found.top.bytes, w);
  const resolved: ResolvedImage = {
    source: name,
    id: m.config.digest,
    manifestDigest: found.image.digest,
    manifestBytes: found.image.bytes,
    configBytes: config.bytes,
    config: config.value,
    layers: sources,
    names: [name],
  };
  const prepared = await prepareImage(w, resolved, mapping, unpacked);
  const repoDigest = `${e.ref.registry}/${e.ref.repository}@${found.top.digest}`;
  const stored = w.commit(() => {
    const [img] = recordImages(w, [prepared]);
    d.query("INSERT OR REPLACE INTO image_repo_digests (image_id, repo_digest, manifest_digest, created) VALUES (?, ?, ?, ?)").run(img!.id, repoDigest, found.image.digest, Date.now());
    return img!;
  });
  progress.stop();
  progress.line(`Stored ${name} as ${stored.id.slice(7, 19)} (digest ${found.top.digest})`);
  return stored;
}

async function fetchConfig(w: StoreWrite, c: RegistryClient, desc: { digest: string; size: number }): Promise<{ bytes: Uint8Array; value: ImageConfig }> {
  if (desc.size > LIMITS.config) throw new RlError(`config ${desc.digest} is too large (${desc.size} bytes, more than the ${mib(LIMITS.config)} rl accepts)`);
  const file = blobPath(w.p, desc.digest);
  // A stored config that is damaged is fetched again.
  if (existsSync(file) && !(await storedBlobIntact(w.p, desc))) rmSync(file, { force: true });
  if (!existsSync(file)) await downloadBlob(w, c, { ...desc }, () => {}, c.o.signal);
  const bytes = new Uint8Array(readFileSync(file));
  if (digestOf(bytes) !== desc.digest) throw new RlError(`config ${desc.digest} in the store does not match its digest`);
  const value = parseJson<ImageConfig>(bytes, `config ${desc.digest}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RlError(`config ${desc.digest} is not a JSON object`);
  return { bytes, value };
}

