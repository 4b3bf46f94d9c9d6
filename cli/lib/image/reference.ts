import { RlError } from "../errors";

export type ImageRef =
  | { transport: "oci" | "oci-archive"; path: string; ref?: string; text: string }
  | { transport: "docker-archive"; path: string; ref?: string; text: string }
  | { transport: "store"; name: string; text: string };

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
  if (/^[a-z0-9-]+:\/\//.test(text) || text.startsWith("docker:")) {
    throw new RlError(`cannot use ${JSON.stringify(text)}: pulling from registries is not available yet; use oci:, oci-archive: or docker-archive:`);
  }
  return { transport: "store", name: text, text };
}

/** docker's normalization: `alpine` → `docker.io/library/alpine:latest`. */
export function normalizeName(name: string): string {
  let n = name;
  if (/@sha256:[0-9a-f]{64}$/.test(n)) return n.includes("/") ? n : `docker.io/library/${n}`;
  const slash = n.indexOf("/");
  const first = slash < 0 ? "" : n.slice(0, slash);
  const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasRegistry) n = `docker.io/${slash < 0 ? "library/" : ""}${n}`;
  const lastPart = n.slice(n.lastIndexOf("/") + 1);
  if (!lastPart.includes(":")) n += ":latest";
  return n;
}
