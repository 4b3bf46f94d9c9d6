import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import type { ImageConfig, Manifest } from "../image/types";
import type { Paths } from "../paths";

export interface StoredImage {
  id: string;
  names: string[];
  config: ImageConfig;
  /** Chain ids, bottom layer first. */
  layers: string[];
  manifestDigest: string | null;
  /** When it was stored (ms since the epoch). */
  stored: number;
}

export function layerDir(p: Paths, chainId: string): string {
  return join(p.layers, chainId.replace(/^sha256:/, ""));
}

interface ImageRow {
  id: string;
  config: string;
  layers: string;
  manifest_digest: string | null;
  created: number;
}

const COLUMNS = "i.id, i.config, i.layers, i.manifest_digest, i.created";

function rowToImage(d: Database, row: ImageRow): StoredImage {
  const names = d.query("SELECT name FROM image_names WHERE image_id = ? ORDER BY name").all(row.id) as { name: string }[];
  return {
    id: row.id,
    names: names.map((n) => n.name),
    config: JSON.parse(row.config),
    layers: JSON.parse(row.layers),
    manifestDigest: row.manifest_digest,
    stored: row.created,
  };
}

/** Find an image by name (docker-normalized), full id, or an id prefix of 3+ hex digits. */
/** Every image name, sorted (shell completion). */
export function allImageNames(d: Database): string[] {
  return (d.query("SELECT name FROM image_names ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

export function findImage(d: Database, text: string): StoredImage | undefined {
  const byName = d.query(`SELECT ${COLUMNS} FROM images i JOIN image_names n ON n.image_id = i.id WHERE n.name = ?`).get(normalizeName(text)) as ImageRow | null;
  if (byName) return rowToImage(d, byName);
  const hex = text.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{3,64}$/.test(hex)) return undefined;
  const rows = d.query(`SELECT ${COLUMNS} FROM images i WHERE id LIKE ?`).all(`sha256:${hex}%`) as ImageRow[];
  if (rows.length > 1) throw new RlError(`${text} matches ${rows.length} images: use more of the id`);
  return rows[0] && rowToImage(d, rows[0]);
}

/** findImage, or the error every image command gives for a name that is not stored. */
export function requireImage(d: Database, text: string): StoredImage {
  const img = findImage(d, text);
  if (!img) throw new RlError(`${text}: image not known (see rl images)`);
  return img;
}

/** Every stored image, newest first. */
export function listImages(d: Database): StoredImage[] {
  const rows = d.query(`SELECT ${COLUMNS} FROM images i ORDER BY created DESC, id`).all() as ImageRow[];
  return rows.map((r) => rowToImage(d, r));
}

/** The image's manifest as stored (the original bytes, or the one rl wrote for a docker-archive). */
export function imageManifest(d: Database, id: string): { bytes: Uint8Array; value: Manifest; digest: string } {
  const row = d.query("SELECT manifest, manifest_digest FROM images WHERE id = ?").get(id) as { manifest: Uint8Array | null; manifest_digest: string | null } | null;
  if (!row?.manifest || !row.manifest_digest) throw new RlError(`image ${id.slice(7, 19)} was stored without its manifest: load it again`);
  const bytes = new Uint8Array(row.manifest);
  return { bytes, value: JSON.parse(new TextDecoder().decode(bytes)), digest: row.manifest_digest };
}

/** Uncompressed size of the image: the sum of its layers' tars, as podman reports it. */
export function imageSize(d: Database, img: StoredImage): number {
  const q = d.query("SELECT diff_size FROM layer_sizes WHERE chain_id = ?");
  return img.layers.reduce((n, c) => n + ((q.get(c) as { diff_size: number } | null)?.diff_size ?? 0), 0);
}
