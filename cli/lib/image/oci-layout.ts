import { RlError } from "../errors";
import { MEDIA, type Descriptor, type ImageConfig, type Index, type Manifest, type Platform, type ResolvedImage } from "./types";
import { readRange, type FileSet } from "./files";
import { selectManifest } from "./platform";
import { bytesMatch } from "./digest";
import { layerSourcesFor } from "./layers";

const REF_NAME = "org.opencontainers.image.ref.name";
const MAX_JSON = 4 << 20;

/** Read a JSON blob by digest, checking its size and digest before parsing. */
async function readJsonBlob<T>(files: FileSet, d: Descriptor, what: string): Promise<{ value: T; bytes: Uint8Array }> {
  const range = locateBlob(files, d.digest);
  if (range.size > MAX_JSON) throw new RlError(`${what} ${d.digest} is too large (${range.size} bytes)`);
  if (range.size !== d.size) throw new RlError(`${what} ${d.digest} is ${range.size} bytes, its descriptor says ${d.size}`);
  const bytes = await readRange(range);
  if (!bytesMatch(bytes, d.digest)) throw new RlError(`${what} ${d.digest} does not match its digest`);
  return { value: parseJson<T>(bytes, `${what} ${d.digest}`), bytes };
}

export function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (err) {
    // Bun says "JSON Parse error: Unexpected identifier "x"": keep what it found, not whose parser it was.
    const detail = (err as Error).message.replace(/^JSON Parse error:\s*/, "");
    throw new RlError(`${what} is not valid JSON: ${detail.charAt(0).toLowerCase()}${detail.slice(1)}`);
  }
}

export function locateBlob(files: FileSet, digest: string) {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m) throw new RlError(`unsupported digest ${JSON.stringify(digest)}`);
  const range = files.locate(`blobs/sha256/${m[1]}`);
  if (!range) throw new RlError(`blob ${digest} is missing from ${files.describe}`);
  return range;
}

function isIndex(mediaType: string | undefined, value: { manifests?: unknown }): boolean {
  return mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList || (!mediaType && Array.isArray(value.manifests));
}

/** Resolve `ref` in an OCI image layout (a directory or an oci-archive) to one image for `platform`. */
export async function resolveOciLayout(files: FileSet, ref: string | undefined, platform: Platform, source: string): Promise<ResolvedImage> {
  const indexRange = files.locate("index.json");
  if (!indexRange) throw new RlError(`${files.describe} is not an OCI image layout: index.json is missing`);
  const top = parseJson<Index>(await readRange(indexRange), `${files.describe}/index.json`);
  const entries = top.manifests ?? [];
  let chosen: Descriptor | undefined;
  if (ref) {
    chosen = entries.find((d) => d.annotations?.[REF_NAME] === ref);
    if (!chosen) throw new RlError(`no image named ${JSON.stringify(ref)} in ${files.describe}`);
  } else if (entries.length === 1) {
    chosen = entries[0];
  } else {
    const refs = entries.map((d) => d.annotations?.[REF_NAME]).filter(Boolean);
    throw new RlError(`${files.describe} holds ${entries.length} images: name one (${refs.join(", ") || "none has a name"})`);
  }
  return resolveDescriptor(files, chosen!, platform, source);
}

export async function resolveDescriptor(files: FileSet, start: Descriptor, platform: Platform, source: string): Promise<ResolvedImage> {
  let d = start;
  for (let depth = 0; ; depth++) {
    if (depth > 4) throw new RlError(`indexes nested too deeply in ${files.describe}`);
    if (d.mediaType === MEDIA.dockerSchema1 || d.mediaType === MEDIA.dockerSchema1Signed) {
      throw new RlError(`${d.digest} is a Docker schema 1 manifest, which rl does not support`);
    }
    const { value, bytes } = await readJsonBlob<Manifest & Index>(files, d, "manifest");
    if (value.schemaVersion === 1) throw new RlError(`${d.digest} is a Docker schema 1 manifest, which rl does not support`);
    if (isIndex(value.mediaType ?? d.mediaType, value)) {
      d = selectManifest(value.manifests ?? [], platform, source);
      continue;
    }
    const manifestType = value.mediaType ?? d.mediaType;
    if (manifestType !== undefined && manifestType !== MEDIA.ociManifest && manifestType !== MEDIA.dockerManifest) {
      throw new RlError(`manifest ${d.digest} has media type ${JSON.stringify(manifestType)}, not an image manifest`);
    }
    if (!value.config || !Array.isArray(value.layers)) throw new RlError(`manifest ${d.digest} has no config or layers`);
    const configType = value.config.mediaType;
    if (configType !== undefined && configType !== MEDIA.ociConfig && configType !== MEDIA.dockerConfig) {
      throw new RlError(`config ${value.config.digest} has media type ${JSON.stringify(configType)}, not an image config`);
    }
    const cfg = await readJsonBlob<ImageConfig>(files, value.config, "config");
    return {
      source,
      id: value.config.digest,
      manifestDigest: d.digest,
      manifestBytes: bytes,
      configBytes: cfg.bytes,
      config: cfg.value,
      layers: layerSourcesFor(value.layers.map((l) => ({ ...l, range: locateBlob(files, l.digest) })), cfg.value),
      names: [],
    };
  }
}
