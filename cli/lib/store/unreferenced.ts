import type { Database } from "bun:sqlite";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Manifest } from "../image/types";
import type { Paths } from "../paths";
import { blobPath } from "./blob-path";
import { imageManifest, listImages } from "./images";

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Layers (chain id hex) and blobs (digest hex) that some image refers to. */
export function referenced(d: Database, p: Paths): { layers: Set<string>; blobs: Set<string> } {
  const layers = new Set<string>();
  const blobs = new Set<string>();
  for (const img of listImages(d)) {
    for (const c of img.layers) layers.add(c.slice(7));
    blobs.add(img.id.slice(7));
    try {
      const m = imageManifest(d, img.id);
      blobs.add(m.digest.slice(7));
      for (const l of m.value.layers) blobs.add(l.digest.slice(7));
    } catch {}
  }
  // An image pulled or pushed under several manifests (e.g. gzip and zstd) keeps each with its layer
  // blobs: push sends the manifest that came with the name it is given.
  const repoDigests = d.query("SELECT DISTINCT manifest_digest FROM image_repo_digests WHERE image_id IN (SELECT id FROM images)").all() as { manifest_digest: string }[];
  for (const { manifest_digest: digest } of repoDigests) {
    blobs.add(digest.slice(7));
    try {
      const m = JSON.parse(readFileSync(blobPath(p, digest), "utf8")) as Partial<Manifest>;
      for (const l of m.layers ?? []) blobs.add(l.digest.slice(7));
    } catch {}
  }
  return { layers, blobs };
}

/**
 * Layers (directories or records) and blobs, as hex digests, that no image refers to: what rmi and prune
 * leave behind, and what another rl process is writing right now. Reclaimable; collected by collectGarbage.
 */
export function unreferenced(d: Database, p: Paths): { layers: string[]; blobs: string[] } {
  const { layers, blobs } = referenced(d, p);
  const recorded = (d.query("SELECT chain_id FROM layers").all() as { chain_id: string }[]).map((r) => r.chain_id.slice(7));
  const allLayers = [...new Set([...list(p.layers), ...recorded])];
  return { layers: allLayers.filter((h) => !layers.has(h)), blobs: list(join(p.blobs, "sha256")).filter((h) => !blobs.has(h)) };
}
