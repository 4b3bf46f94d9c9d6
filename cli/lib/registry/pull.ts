import type { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { limiter } from "../limiter";
import { RlError, messageOf } from "../errors";
import { debug } from "../log";
import { chainIds, digestOf } from "../image/digest";
import { layerSourcesFor } from "../image/layers";
import { parseJson } from "../image/oci-layout";
import { formatPlatform, selectManifest } from "../image/platform";
import type { ImageConfig, Platform, ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import type { IdMapping } from "../security/idmap";
import { blobPath, hasBlob } from "../store/blob-path";
import { putBlobBytes } from "../store/blobs";
import { cleanDebris } from "../store/debris";
import { tmpName } from "../store/tmp-name";
import type { StoredImage } from "../store/images";
import { prepareImage, recordImages, unpackMissing } from "../store/store-image";
import { withStoreWrite, type StoreWrite } from "../store/store-write";
import type { LayerDigests } from "../image/layer-stream";
import { downloadBlob, parallel } from "./blob-download";
import type { RegistryClient } from "./client";
import { endpointsFor, type Endpoint } from "./endpoints";
import { fetchManifest, isIndexType, type FetchedManifest } from "./manifest";
import { clientFor, type RegistryOptions } from "./options";
import { Progress, type ProgressMode } from "./progress";
import { formatRef, manifestReference, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

export interface PullOptions extends RegistryOptions {
  platform: Platform;
  progress: ProgressMode;
}

const PARALLEL = 3;
const MAX_CONFIG = 4 << 20;

/** The manifest for `platform`: the tagged one, or the one an index lists for it. */
async function platformManifest(c: RegistryClient, reference: string, platform: Platform): Promise<{ top: FetchedManifest; image: FetchedManifest }> {
  const top = await fetchManifest(c, reference);
  if (!isIndexType(top.mediaType)) return { top, image: top };
  const chosen = selectManifest(top.value.manifests ?? [], platform, `${c.host}/${c.o.repository}:${reference}`);
  const image = await fetchManifest(c, chosen.digest);
  if (isIndexType(image.mediaType)) throw new RlError(`${c.host}/${c.o.repository}: nested indexes are not supported`);
  return { top, image };
}

/** The error of one endpoint, naming its host when the message does not already. */
function fromEndpoint(err: unknown, e: Endpoint): unknown {
  if (!(err instanceof Error) || err.message.includes(e.host)) return err;
  return new RlError(`${e.host}: ${err.message}`, err instanceof RlError ? err.exitCode : undefined);
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
 */
export async function pullImage(d: Database, p: Paths, text: string, mapping: IdMapping, o: PullOptions): Promise<StoredImage> {
  await cleanDebris(d, p);
  const ref = parseRegistryRef(text);
  const endpoints = endpointsFor(ref, loadRegistriesConf(), { tlsVerify: o.tlsVerify });
  let lastError: unknown;
  /** By the full name each registry was asked for: its last endpoint's error. */
  const failures = new Map<string, { e: Endpoint; err: unknown }>();
  for (const [i, e] of endpoints.entries()) {
    const progress = new Progress(o.progress);
    try {
      const c = clientFor(e, "pull", o);
      const found = await platformManifest(c, manifestReference(ref), o.platform);
      return await withStoreWrite(d, p, (w) => fetchAndStore(w, c, e, found, mapping, o, progress));
    } catch (err) {
      progress.stop();
      if (o.signal?.aborted) throw err;
      lastError = fromEndpoint(err, e);
      failures.set(formatRef(e.ref), { e, err: lastError });
      const next = endpoints[i + 1];
      if (next) progress.line(`Failed on ${e.host}/${e.repository}: ${messageOf(err)}; trying ${next.host}/${next.repository}`);
    }
  }
  throw failures.size > 1 ? noRegistryHadIt(failures) : lastError;
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
        bar.finish("exists");
        return unpack(i);
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
  if (desc.size > MAX_CONFIG) throw new RlError(`config ${desc.digest} is too large (${desc.size} bytes)`);
  if (!hasBlob(w.p, desc.digest)) await downloadBlob(w, c, { ...desc }, () => {}, c.o.signal);
  const bytes = new Uint8Array(readFileSync(blobPath(w.p, desc.digest)));
  if (digestOf(bytes) !== desc.digest) throw new RlError(`config ${desc.digest} in the store does not match its digest`);
  return { bytes, value: parseJson<ImageConfig>(bytes, `config ${desc.digest}`) };
}

