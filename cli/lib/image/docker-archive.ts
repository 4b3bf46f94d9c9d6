import { RlError } from "../errors";
import type { FileSet } from "./files";
import { readRange } from "./files";
import { parseJson } from "./oci-layout";
import { sha256Hex } from "./digest";
import { imageName, normalizeName } from "./reference";
import type { ImageConfig, ResolvedImage } from "./types";

interface ArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

function member(files: FileSet, name: string, what: string) {
  if (name.startsWith("/") || name.split("/").includes("..")) throw new RlError(`${what} path ${JSON.stringify(name)} points outside the archive`);
  const r = files.locate(name);
  if (!r) throw new RlError(`${what} ${name} is missing from ${files.describe}`);
  return r;
}

/** Resolve a docker-archive (docker save) image: `ref` is a RepoTag, "@N" (index), or absent for the only one. */
export async function resolveDockerArchive(files: FileSet, ref: string | undefined, source: string): Promise<ResolvedImage> {
  const entries = parseJson<ArchiveEntry[]>(await readRange(member(files, "manifest.json", "manifest")), `${files.describe}/manifest.json`);
  if (!Array.isArray(entries) || entries.length === 0) throw new RlError(`${files.describe} has no images in manifest.json`);
  let entry: ArchiveEntry | undefined;
  if (!ref) {
    if (entries.length > 1) throw new RlError(`${files.describe} holds ${entries.length} images: name one with :@N or :NAME:TAG`);
    entry = entries[0];
  } else if (ref.startsWith("@")) {
    const n = Number(ref.slice(1));
    entry = Number.isInteger(n) ? entries[n] : undefined;
    if (!entry) throw new RlError(`no image ${ref} in ${files.describe} (it has ${entries.length})`);
  } else {
    const want = normalizeName(ref);
    entry = entries.find((e) => (e.RepoTags ?? []).some((t) => normalizeName(t) === want));
    if (!entry) throw new RlError(`no image tagged ${ref} in ${files.describe}`);
  }
  const cfgRange = member(files, entry!.Config, "config");
  const configBytes = await readRange(cfgRange);
  const config = parseJson<ImageConfig>(configBytes, `config ${entry!.Config}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry!.Layers.length) {
    throw new RlError(`${files.describe} lists ${entry!.Layers.length} layers but its config has ${diffIds.length} diff_ids`);
  }
  const layers = entry!.Layers.map((name, i) => ({
    ...member(files, name, "layer"),
    // docker save stores layers uncompressed; newer versions may compress: sniffed when unpacking
    mediaType: "application/vnd.docker.image.rootfs.diff.tar",
    diffId: diffIds[i]!,
  }));
  return {
    source,
    id: `sha256:${sha256Hex(configBytes)}`,
    configBytes,
    config,
    layers,
    names: (entry!.RepoTags ?? []).map((t) => repoTag(t, files.describe)),
  };
}

/** A RepoTags entry as the name to store; as podman, a bad one refuses the archive. */
function repoTag(tag: string, describe: string): string {
  try {
    return imageName(tag);
  } catch (err) {
    throw new RlError(`${describe}: manifest.json has an ${(err as Error).message}`);
  }
}
