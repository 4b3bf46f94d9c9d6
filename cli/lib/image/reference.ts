import { RlError } from "../errors";
import { DOCKER_HUB, formatRef, onRegistry, parseRegistryRef } from "../registry/ref";

export type ImageRef =
  | { transport: "oci" | "oci-archive"; path: string; ref?: string; text: string }
  | { transport: "docker-archive"; path: string; ref?: string; text: string }
  | { transport: "store"; name: string; text: string }
  /** A registry image (docker://NAME); a bare NAME is looked up in the store first, then pulled. */
  | { transport: "docker"; name: string; text: string };

/** Parse what the user wrote: a transport reference (as podman and skopeo spell them) or a stored image. */
export function parseImageRef(text: string): ImageRef {
  if (!text) throw new RlError("an image name is required");
  const m = /^(oci|oci-archive|docker-archive):(.*)$/.exec(text);
  if (m) {
    const transport = m[1] as "oci" | "oci-archive" | "docker-archive";
    const rest = m[2]!;
    // Paths with ':' are not supported, as in containers/image: the first ':' starts the reference.
    const colon = rest.indexOf(":");
    const path = colon < 0 ? rest : rest.slice(0, colon);
    const ref = colon < 0 ? undefined : rest.slice(colon + 1) || undefined;
    if (!path) throw new RlError(`invalid reference ${JSON.stringify(text)}: a path is required after ${transport}:`);
    return { transport, path, ref, text };
  }
  if (text.startsWith("docker://")) return { transport: "docker", name: text.slice("docker://".length), text };
  const scheme = /^([a-z0-9-]+):\/\//.exec(text);
  if (scheme) throw new RlError(`unknown transport ${JSON.stringify(scheme[1])} in ${JSON.stringify(text)}: use docker://, oci:, oci-archive: or docker-archive:`);
  return { transport: "store", name: text, text };
}

/** docker's normalization: `alpine` → `docker.io/library/alpine:latest`; text that is no image name stays as it is. */
export function normalizeName(name: string): string {
  try {
    const ref = parseRegistryRef(name);
    return formatRef(ref.registry ? ref : onRegistry(ref, DOCKER_HUB));
  } catch {
    return name;
  }
}

/** The reference grammar's limits: 255 characters for a name (registry and repository), 128 for a tag. */
const NAME_MAX = 255;

/**
 * A name to store an image under, checked against the reference grammar and docker-normalized:
 * `alpine` → `docker.io/library/alpine:latest`. Every name that enters the store goes through here
 * (tag, import, load's RepoTags, pull); a bad one is refused with the reason.
 */
export function imageName(text: string): string {
  const shown = text.length > 80 ? `${JSON.stringify(text.slice(0, 60))}… (${text.length} characters)` : JSON.stringify(text);
  const bad = (why: string) => new RlError(`invalid image name ${shown}: ${why}`);
  // Checked first: a 10 KB name must not be echoed whole.
  if (text.length > NAME_MAX + 1 + 128) throw bad(`names are at most ${NAME_MAX} characters, tags ${128}`);
  let ref;
  try {
    ref = parseRegistryRef(text);
  } catch (err) {
    throw bad((err as Error).message.replace(/^invalid image reference "(?:[^"\\]|\\.)*": /, ""));
  }
  if (ref.digest) throw bad("a stored name has a tag, not a digest");
  const full = ref.registry ? ref : onRegistry(ref, DOCKER_HUB);
  if (`${full.registry}/${full.repository}`.length > NAME_MAX) throw bad(`names are at most ${NAME_MAX} characters, tags ${128}`);
  return formatRef(full);
}

/** "docker.io/library/alpine:3.20" → ["docker.io/library/alpine", "3.20"]; no tag: "latest". */
export function splitName(name: string): [string, string] {
  const at = name.lastIndexOf(":");
  return at > name.lastIndexOf("/") ? [name.slice(0, at), name.slice(at + 1)] : [name, "latest"];
}

/** A stored name as users type it: docker.io/library/alpine:3.20 is `alpine:3.20`, docker.io/x/y is `x/y`. */
export function shortName(name: string): string {
  return name.replace(/^docker\.io\/(library\/)?/, "");
}
