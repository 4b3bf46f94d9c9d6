import type { Database } from "bun:sqlite";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { containerDir, listContainers } from "./containers-table";
import { blobPath } from "./blob-path";
import { layerDir, listImages } from "./images";
import { unreferenced } from "./unreferenced";
import { listVolumes, volumeData } from "./volumes";

export interface UsageRow {
  type: string;
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

/** Bytes under `dir` that this user can see (a container's files owned by subordinate ids may not be). */
function duBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      try {
        const st = lstatSync(join(d, name));
        n += st.blocks * 512;
        if (st.isDirectory()) walk(join(d, name));
      } catch {}
    }
  };
  walk(dir);
  return n;
}

/** The bytes of a container's own files (its writable layer), as `system df` and `ps -s` count them. */
export function containerSize(p: Paths, id: string): number {
  return duBytes(containerDir(p, id));
}

/** Bytes of the layers and blobs no image refers to (left by an interrupted pull or load): all reclaimable. */
function unreferencedBytes(d: Database, p: Paths): number {
  const { layers, blobs } = unreferenced(d, p);
  let n = layers.reduce((sum, h) => sum + duBytes(layerDir(p, h)), 0);
  for (const h of blobs) {
    try {
      n += lstatSync(blobPath(p, `sha256:${h}`)).size;
    } catch {}
  }
  return n;
}

/** Volumes: those a container uses are active; the others' bytes are reclaimable (volume prune). */
function volumeUsage(d: Database, p: Paths): UsageRow {
  const used = new Set((d.query("SELECT DISTINCT volume FROM container_volumes WHERE volume IS NOT NULL").all() as { volume: string }[]).map((r) => r.volume));
  const sizes = listVolumes(d).map((v) => ({ used: used.has(v.name), bytes: duBytes(volumeData(p, v.name)) }));
  const sum = (list: typeof sizes) => list.reduce((n, v) => n + v.bytes, 0);
  return { type: "Local Volumes", total: sizes.length, active: sizes.filter((v) => v.used).length, size: sum(sizes), reclaimable: sum(sizes.filter((v) => !v.used)) };
}

/** `system df`: images (unique layers counted once, plus unreferenced layers and blobs), containers (their writable layers). */
export function diskUsage(d: Database, p: Paths): UsageRow[] {
  const images = listImages(d);
  const containers = listContainers(d);
  const used = new Set(containers.map((c) => c.image_id));
  const size = d.query("SELECT diff_size FROM layer_sizes WHERE chain_id = ?");
  const layerBytes = (chains: Iterable<string>) => [...new Set(chains)].reduce((n, c) => n + ((size.get(c) as { diff_size: number } | null)?.diff_size ?? 0), 0);
  const all = layerBytes(images.flatMap((i) => i.layers));
  const active = layerBytes(images.filter((i) => used.has(i.id)).flatMap((i) => i.layers));
  const perContainer = containers.map((c) => ({ running: c.state === "running", bytes: containerSize(p, c.id) }));
  const cBytes = perContainer.reduce((n, c) => n + c.bytes, 0);
  const loose = unreferencedBytes(d, p);
  return [
    { type: "Images", total: images.length, active: used.size, size: all + loose, reclaimable: all - active + loose },
    {
      type: "Containers",
      total: containers.length,
      active: perContainer.filter((c) => c.running).length,
      size: cBytes,
      reclaimable: perContainer.filter((c) => !c.running).reduce((n, c) => n + c.bytes, 0),
    },
    volumeUsage(d, p),
  ];
}
