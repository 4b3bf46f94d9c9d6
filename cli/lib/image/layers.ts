import { RlError } from "../errors";
import type { FileRange } from "./files";
import type { Descriptor, ImageConfig, LayerSource } from "./types";

const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

/** Pair a manifest's layers with the config's diff_ids. */
export function layerSourcesFor(layers: (Descriptor & { range: FileRange })[], config: ImageConfig): LayerSource[] {
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== layers.length) {
    throw new RlError(`the manifest lists ${layers.length} layers but the config has ${diffIds.length} diff_ids`);
  }
  return layers.map((l, i) => {
    const mediaType = l.mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip";
    if (!LAYER_TYPES.has(mediaType)) throw new RlError(`layer ${l.digest} has unsupported media type ${mediaType}`);
    if (l.range.size !== l.size) throw new RlError(`layer ${l.digest} is ${l.range.size} bytes, the manifest says ${l.size}`);
    return { ...l.range, mediaType, digest: l.digest, diffId: diffIds[i]! };
  });
}
