import type { Database } from "bun:sqlite";
import { imageManifest, imageSize, type StoredImage } from "./images";

/** `image inspect` JSON, with the fields and names podman uses. */
export function inspectImage(d: Database, img: StoredImage) {
  const c = img.config;
  let digest: string | null = img.manifestDigest;
  try {
    digest = imageManifest(d, img.id).digest;
  } catch {}
  const repos = (n: string) => n.replace(/:[^:/]+$/, "");
  return {
    Id: img.id.slice(7),
    Digest: digest,
    RepoTags: img.names,
    RepoDigests: digest ? [...new Set(img.names.map(repos))].map((r) => `${r}@${digest}`) : [],
    Created: c.created ?? new Date(img.stored).toISOString(),
    Architecture: c.architecture ?? "",
    Os: c.os ?? "",
    ...(c.variant ? { Variant: c.variant } : {}),
    Config: c.config ?? {},
    RootFS: { Type: c.rootfs?.type ?? "layers", Layers: c.rootfs?.diff_ids ?? [] },
    Size: imageSize(d, img),
    History: c.history ?? [],
    ManifestType: (() => {
      try {
        const m = imageManifest(d, img.id);
        return m.value.mediaType ?? "application/vnd.oci.image.manifest.v1+json";
      } catch {
        return null;
      }
    })(),
  };
}

export interface HistoryRow {
  id: string;
  created: string | undefined;
  createdBy: string;
  size: number;
  comment: string;
}

/**
 * `image history`: the config's history, newest first. Entries that made a layer get that layer's
 * size and the top one the image id; the others show "<missing>", as podman does.
 */
export function imageHistory(d: Database, img: StoredImage): HistoryRow[] {
  const sizes = d.query("SELECT diff_size FROM layer_sizes WHERE chain_id = ?");
  const hist = img.config.history?.length ? img.config.history : img.layers.map(() => ({ created: img.config.created, created_by: "" }));
  let layer = 0;
  const rows = hist.map((h) => {
    const empty = "empty_layer" in h && h.empty_layer;
    const chain = empty ? undefined : img.layers[layer++];
    const size = chain ? ((sizes.get(chain) as { diff_size: number } | null)?.diff_size ?? 0) : 0;
    return { id: "<missing>", created: h.created, createdBy: h.created_by ?? "", size, comment: ("comment" in h ? h.comment : "") ?? "" };
  });
  rows.reverse();
  if (rows[0]) rows[0].id = img.id.slice(7, 19);
  return rows;
}
