import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { warnOnce } from "../log";
import { chainIds } from "../image/digest";
import { digestEngine } from "../image/digest-engine";
import { normalizeName } from "../image/reference";
import type { ImageConfig, LayerSource, ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import { hasFullMapping, mappedSize, type IdMapping } from "../security/idmap";
import type { WorkerJob } from "../rootfs/userns-worker";
import { runWorkerJob } from "../rootfs/worker-job";
import { transaction } from "./db";

export interface StoredImage {
  id: string;
  names: string[];
  config: ImageConfig;
  /** Chain ids, bottom layer first. */
  layers: string[];
}

export function layerDir(p: Paths, chainId: string): string {
  return join(p.layers, chainId.replace(/^sha256:/, ""));
}

interface ImageRow {
  id: string;
  config: string;
  layers: string;
}

function rowToImage(d: Database, row: ImageRow): StoredImage {
  const names = d.query("SELECT name FROM image_names WHERE image_id = ? ORDER BY name").all(row.id) as { name: string }[];
  return { id: row.id, names: names.map((n) => n.name), config: JSON.parse(row.config), layers: JSON.parse(row.layers) };
}

/** Find an image by name (docker-normalized), full id, or an id prefix of 3+ hex digits. */
export function findImage(d: Database, text: string): StoredImage | undefined {
  const byName = d.query("SELECT i.id, i.config, i.layers FROM images i JOIN image_names n ON n.image_id = i.id WHERE n.name = ?").get(normalizeName(text)) as ImageRow | null;
  if (byName) return rowToImage(d, byName);
  const hex = text.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{3,64}$/.test(hex)) return undefined;
  const rows = d.query("SELECT id, config, layers FROM images WHERE id LIKE ?").all(`sha256:${hex}%`) as ImageRow[];
  if (rows.length > 1) throw new RlError(`${text} matches ${rows.length} images: use more of the id`);
  return rows[0] && rowToImage(d, rows[0]);
}

/**
 * Put a resolved image in the store: unpack the layers it lacks (inside a user namespace, so files get
 * their owners), then record the image in one transaction. Layers land by rename, so a killed run
 * leaves no half layer.
 */
export async function storeImage(d: Database, p: Paths, img: ResolvedImage, mapping: IdMapping): Promise<StoredImage> {
  const chains = chainIds(img.layers.map((l) => l.diffId));
  await unpackMissing(p, img.layers.map((l, i) => ({ ...l, chainId: chains[i]! })), mapping);
  const now = Date.now();
  transaction(d, p.db, () => {
    const layer = d.query("INSERT OR IGNORE INTO layers (chain_id, diff_id, created) VALUES (?, ?, ?)");
    img.layers.forEach((l, i) => layer.run(chains[i]!, l.diffId, now));
    d.query("INSERT OR IGNORE INTO images (id, manifest_digest, manifest, config, layers, created) VALUES (?, ?, ?, ?, ?, ?)").run(
      img.id,
      img.manifestDigest ?? null,
      img.manifestBytes ?? null,
      new TextDecoder().decode(img.configBytes),
      JSON.stringify(chains),
      now,
    );
    for (const name of img.names) d.query("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)").run(name, img.id);
  });
  return findImage(d, img.id)!;
}

/** Unpack those layers the store lacks (a pull calls it per layer as downloads finish). */
export async function unpackMissing(p: Paths, layers: (LayerSource & { chainId: string })[], mapping: IdMapping): Promise<void> {
  const missing = layers.filter((l) => !existsSync(layerDir(p, l.chainId)));
  if (missing.length) await unpackLayers(p, missing, mapping);
}

async function unpackLayers(p: Paths, layers: (LayerSource & { chainId: string })[], mapping: IdMapping): Promise<void> {
  mkdirSync(p.layers, { recursive: true, mode: 0o700 });
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  const tmpDir = join(p.tmp, `unpack-${process.pid}-${Date.now().toString(36)}`);
  const job: WorkerJob = { kind: "unpack", layers, layersDir: p.layers, tmpDir, chown: hasFullMapping(mapping), idLimit: mappedSize(mapping), digestEngine: digestEngine() };
  let result: Awaited<ReturnType<typeof runWorkerJob>>;
  try {
    result = await runWorkerJob(`${tmpDir}.json`, job, mapping);
  } catch (err) {
    // A worker killed midway (Ctrl-C reaches the whole process group) cannot clean up after itself.
    await runWorkerJob(`${tmpDir}-rm.json`, { kind: "remove", paths: [tmpDir] }, mapping).catch(() => {});
    throw err;
  }
  if (result.skippedDevices?.length) {
    warnOnce(`skipped ${result.skippedDevices.length} device node(s) in the image (${result.skippedDevices.slice(0, 3).join(", ")}${result.skippedDevices.length > 3 ? ", ..." : ""}): creating devices needs privileges; /dev is provided at run time`);
  }
}
