import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { warnOnce } from "../log";
import { chainIds, digestOf, newDigester } from "../image/digest";
import { digestEngine } from "../image/digest-engine";
import { sniff, type Compression } from "../image/compression";
import type { LayerDigests } from "../image/layer-stream";
import { MEDIA, type LayerSource, type ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import { hasFullMapping, mappedSize, type IdMapping } from "../security/idmap";
import type { WorkerJob } from "../rootfs/userns-worker";
import { removePaths, runWorkerJob } from "../rootfs/worker-job";
import { blobPath, hasBlob } from "./blob-path";
import { putBlob, putBlobBytes } from "./blobs";
import { findImage, layerDir, type StoredImage } from "./images";
import { setAside } from "./collect";
import { transaction } from "./db";
import { withLocks } from "./locks";
import { withStoreWrite, type StoreWrite } from "./store-write";
import { tmpName } from "./tmp-name";

// Storing images (load, pull, import, and run of a transport): the write side of images.ts, apart so
// that a command that only reads the store does not load the digest and unpacking machinery.

type PendingLayer = LayerSource & { chainId: string };

/** An image whose layers and blobs are in the store (claimed by a StoreWrite), not yet recorded. */
export interface PreparedImage {
  img: ResolvedImage;
  layers: PendingLayer[];
  described: BlobDescription[];
  manifestBytes: Uint8Array;
  manifestDigest: string;
}

/**
 * Put a resolved image in the store as one store write: prepare it, then record it. Readers see the
 * image only once the transaction commits; a failure removes what it created (store-write.ts).
 */
export function storeImage(d: Database, p: Paths, img: ResolvedImage, mapping: IdMapping): Promise<StoredImage> {
  return withStoreWrite(d, p, async (w) => {
    const prepared = await prepareImage(w, img, mapping);
    return w.commit(() => recordImages(w, [prepared]))[0]!;
  });
}

/**
 * The first half of storing an image, inside a store write: unpack the layers the store lacks (inside a
 * user namespace, so files get their owners) while keeping their compressed blobs in the same pass,
 * and store the manifest and config blobs. Layers and blobs land by rename, so a killed run leaves no
 * half layer; each is claimed by `w` before it lands. `unpacked`: layers the caller already unpacked.
 */
export async function prepareImage(w: StoreWrite, img: ResolvedImage, mapping: IdMapping, unpacked = new Map<string, LayerDigests>()): Promise<PreparedImage> {
  const chains = chainIds(img.layers.map((l) => l.diffId));
  const layers: PendingLayer[] = img.layers.map((l, i) => ({ ...l, chainId: chains[i]! }));
  const known = new Map([...unpacked, ...(await unpackMissing(w, layers, mapping))]);
  const described: BlobDescription[] = [];
  for (const l of layers) described.push(await keepLayerBlob(w, l, known.get(l.chainId)));
  const manifestBytes = img.manifestBytes ?? synthesizeManifest(img, described);
  const manifestDigest = img.manifestDigest ?? digestOf(manifestBytes);
  await putBlobBytes(w.p, manifestDigest, manifestBytes, w);
  await putBlobBytes(w.p, img.id, img.configBytes, w);
  return { img, layers, described, manifestBytes, manifestDigest };
}

/** The second half: the rows of prepared images. Call it inside `w.commit`, which clears the claims in the same transaction. */
export function recordImages(w: StoreWrite, prepared: PreparedImage[]): StoredImage[] {
  const d = w.d;
  const now = Date.now();
  const layer = d.query("INSERT OR IGNORE INTO layers (chain_id, diff_id, created) VALUES (?, ?, ?)");
  const size = d.query("INSERT OR IGNORE INTO layer_sizes (chain_id, diff_size) VALUES (?, ?)");
  for (const { img, layers, described, manifestBytes, manifestDigest } of prepared) {
    layers.forEach((l, i) => {
      layer.run(l.chainId, l.diffId, now);
      if (described[i]!.diffSize !== undefined) size.run(l.chainId, described[i]!.diffSize!);
    });
    d.query("INSERT OR IGNORE INTO images (id, manifest_digest, manifest, config, layers, created) VALUES (?, ?, ?, ?, ?, ?)").run(
      img.id,
      manifestDigest,
      manifestBytes,
      new TextDecoder().decode(img.configBytes),
      JSON.stringify(layers.map((l) => l.chainId)),
      now,
    );
    // Images stored before blobs were kept have no manifest: give them this one.
    d.query("UPDATE images SET manifest = ?, manifest_digest = ? WHERE id = ? AND manifest IS NULL").run(manifestBytes, manifestDigest, img.id);
    for (const name of img.names) d.query("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)").run(name, img.id);
  }
  return prepared.map((x) => findImage(d, x.img.id)!);
}

/**
 * Unpack the layers the store lacks (a pull calls it per layer as downloads finish), each under its own
 * lock so two rl processes never unpack one layer twice; each is claimed by `w` before its worker
 * starts. Returns what the unpacked layers turned out to be.
 */
export async function unpackMissing(w: StoreWrite, layers: PendingLayer[], mapping: IdMapping): Promise<Map<string, LayerDigests>> {
  const { d, p } = w;
  const known = new Map<string, LayerDigests>();
  const missing = layers.filter((l) => !layerComplete(d, p, l.chainId));
  if (!missing.length) return known;
  const locks = missing.map((l) => ({ name: `layer-${l.chainId.slice(7)}`, exclusive: true }));
  await withLocks(p, locks, async () => {
    const still = missing.filter((l) => !layerComplete(d, p, l.chainId));
    if (!still.length) return;
    const hexes = still.map((l) => l.chainId.slice(7));
    w.claim("layer", hexes);
    // A directory without its record is what a killed rl left, maybe half written or half deleted.
    const stale = await setAside(p, hexes, "stale");
    if (stale.length) await removePaths(p.tmp, stale);
    const got = await unpackLayers(w, still, mapping);
    recordLayers(w, still, got);
    still.forEach((l, i) => known.set(l.chainId, got[i]!));
  });
  return known;
}

/**
 * A layer is in the store when its record is and its directory too: the record is written once the
 * directory is complete (recordLayers) and deleted after the directory has left layers/ (collect.ts).
 */
function layerComplete(d: Database, p: Paths, chainId: string): boolean {
  return d.query("SELECT 1 FROM layers WHERE chain_id = ?").get(chainId) !== null && existsSync(layerDir(p, chainId));
}

/** The records of layers just unpacked into layers/: from now on they count as stored (still claimed by `w` until its commit). */
function recordLayers(w: StoreWrite, layers: PendingLayer[], got: LayerDigests[]): void {
  const now = Date.now();
  transaction(w.d, w.p.db, () => {
    layers.forEach((l, i) => {
      w.d.query("INSERT OR REPLACE INTO layers (chain_id, diff_id, created) VALUES (?, ?, ?)").run(l.chainId, l.diffId, now);
      w.d.query("INSERT OR REPLACE INTO layer_sizes (chain_id, diff_size) VALUES (?, ?)").run(l.chainId, got[i]!.diffSize);
    });
  });
}

/** Make sure the layer's compressed blob is in the store; returns how to describe it in a manifest. */
type BlobDescription = { digest: string; size: number; compression: Compression; diffSize?: number };

async function keepLayerBlob(w: StoreWrite, l: PendingLayer, unpacked: LayerDigests | undefined): Promise<BlobDescription> {
  if (unpacked) return unpacked;
  const compression = sniff(new Uint8Array(await Bun.file(l.file).slice(l.offset, l.offset + 4).arrayBuffer()));
  let digest = l.digest ?? (compression === "none" ? l.diffId : undefined);
  if (!digest) {
    const h = newDigester();
    for await (const c of rangeChunks(l)) h.update(c);
    digest = h.digest();
  }
  if (!hasBlob(w.p, digest)) await putBlob(w.p, digest, rangeChunks(l), l.size, w);
  return { digest, size: l.size, compression };
}

function rangeChunks(l: LayerSource): AsyncIterable<Uint8Array> {
  return Bun.file(l.file).slice(l.offset, l.offset + l.size).stream() as unknown as AsyncIterable<Uint8Array>;
}

const DOCKER_LAYER: Record<Compression, string> = {
  none: "application/vnd.docker.image.rootfs.diff.tar",
  gzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

/** A docker schema2 manifest for an image that came without one (docker-archive), as podman writes. */
function synthesizeManifest(img: ResolvedImage, layers: { digest: string; size: number; compression: Compression }[]): Uint8Array {
  const m = {
    schemaVersion: 2,
    mediaType: MEDIA.dockerManifest,
    config: { mediaType: MEDIA.dockerConfig, size: img.configBytes.length, digest: img.id },
    layers: layers.map((l) => ({ mediaType: DOCKER_LAYER[l.compression], size: l.size, digest: l.digest })),
  };
  return new TextEncoder().encode(JSON.stringify(m, null, 2));
}

/**
 * Split layers over up to one worker per core, biggest first onto the least loaded worker: layers are
 * independent, so two cores unpack two layers at once (decompression, hashing and file creation all
 * scale). Returns groups of indexes into `sizes`.
 */
export function spreadLayers(sizes: number[], workers: number): number[][] {
  const n = Math.max(1, Math.min(workers, sizes.length));
  const groups: { load: number; items: number[] }[] = Array.from({ length: n }, () => ({ load: 0, items: [] }));
  const order = sizes.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [size, i] of order) {
    const g = groups.reduce((a, b) => (b.load < a.load ? b : a));
    g.load += size;
    g.items.push(i);
  }
  return groups.map((g) => g.items.sort((a, b) => a - b)).filter((g) => g.length);
}

async function unpackLayers(w: StoreWrite, layers: PendingLayer[], mapping: IdMapping): Promise<LayerDigests[]> {
  const p = w.p;
  mkdirSync(p.layers, { recursive: true, mode: 0o700 });
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  mkdirSync(join(p.blobs, "sha256"), { recursive: true, mode: 0o700 });
  const out: LayerDigests[] = [];
  const groups = spreadLayers(layers.map((l) => l.size), Number(process.env.RL_UNPACK_WORKERS) || availableParallelism());
  const settled = await Promise.allSettled(
    groups.map(async (group) => {
      const tmpDir = tmpName(p, "unpack");
      const withBlobs = group.map((i) => ({
        ...layers[i]!,
        // A layer read as it downloads is stored by its download.
        blob: layers[i]!.growing || (layers[i]!.digest && hasBlob(p, layers[i]!.digest!)) ? undefined : { tmp: `${tmpDir}-blob${i}` },
      }));
      const blobTmps = withBlobs.flatMap((l) => (l.blob ? [l.blob.tmp] : []));
      const job: WorkerJob = { kind: "unpack", layers: withBlobs, layersDir: p.layers, tmpDir, chown: hasFullMapping(mapping), idLimit: mappedSize(mapping), digestEngine: digestEngine() };
      let result: Awaited<ReturnType<typeof runWorkerJob>>;
      try {
        result = await runWorkerJob(p.tmp, job, mapping);
      } catch (err) {
        // A worker killed midway (Ctrl-C reaches the whole process group) cannot clean up after itself.
        await removePaths(p.tmp, [tmpDir, ...blobTmps]).catch(() => {});
        throw err;
      }
      try {
        // The worker leaves each verified blob in tmp/: it lands here, once claimed.
        const kept = withBlobs.flatMap((l, k) => (l.blob ? [{ tmp: l.blob.tmp, digest: result.layers![k]!.digest }] : [])).filter((b) => !hasBlob(p, b.digest));
        w.claim("blob", kept.map((b) => b.digest.slice(7)));
        for (const b of kept) renameSync(b.tmp, blobPath(p, b.digest));
      } finally {
        for (const t of blobTmps) rmSync(t, { force: true });
      }
      if (result.skippedDevices?.length) {
        warnOnce(`skipped ${result.skippedDevices.length} device node(s) in the image (${result.skippedDevices.slice(0, 3).join(", ")}${result.skippedDevices.length > 3 ? ", ..." : ""}): creating devices needs privileges; /dev is provided at run time`);
      }
      group.forEach((i, k) => (out[i] = result.layers![k]!));
    }),
  );
  // Wait for every worker before failing, so none is left writing into the store.
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return out;
}
