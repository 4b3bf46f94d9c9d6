import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { findImage, layerDir, type StoredImage } from "../store/images";
import { parseImageRef } from "../image/reference";
import { wantedPlatform } from "../image/platform";
import { imageByPolicy } from "../registry/pull-policy";
import type { IdMapping } from "../security/idmap";
import type { ContainerRow } from "../store/containers-table";
import type { ImageOptions } from "../runtime/run-options";

/** Get the image named by the user: from the store, read from a transport, or pulled from a registry. */
export async function imageFor(d: Database, p: Paths, text: string, o: ImageOptions, mapping: IdMapping): Promise<StoredImage> {
  const ref = parseImageRef(text);
  const want = wantedPlatform(o);
  if (ref.transport === "store" || ref.transport === "docker") return imageByPolicy(d, p, ref.name, mapping, o);
  // Reading transports pulls in zlib, tar and WASM: load them only when an image must be read.
  const [{ resolveSource }, { storeImage }] = await Promise.all([import("../image/resolve"), import("../store/store-image")]);
  const resolved = await resolveSource(ref, want);
  const stored = findImage(d, resolved.id);
  if (stored && stored.layers.every((c) => existsSync(layerDir(p, c)))) return stored;
  return storeImage(d, p, resolved, mapping);
}


/** The image a stored container was made from. */
export function storedImage(d: Database, c: ContainerRow): StoredImage {
  const img = findImage(d, c.image_id);
  if (!img) throw new RlError(`cannot start container ${c.name}: its image ${c.image_id.slice(7, 19)} is no longer stored`);
  return img;
}

