import { RlError } from "../errors";

/** A reference to an image in a registry, as docker and podman read `[REGISTRY/]REPO[:TAG][@DIGEST]`. */
export interface RegistryRef {
  /** host[:port], or [ipv6]:port; "" when the user named no registry (unqualified). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = "docker.io";
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A first path component names a registry when it has a dot, a port, is an IPv6 literal, or is localhost. */
function isRegistry(part: string): boolean {
  return part.includes(".") || part.includes(":") || part.startsWith("[") || part === "localhost";
}

/** Parse `alpine`, `docker.io/library/alpine:3.20`, `[::1]:5000/x@sha256:…`, with an optional `docker://`. */
export function parseRegistryRef(input: string): RegistryRef {
  let text = input.replace(/^docker:\/\//, "");
  const bad = (why: string) => new RlError(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  if (!text) throw bad("it is empty");
  let digest: string | undefined;
  const at = text.indexOf("@");
  if (at >= 0) {
    digest = text.slice(at + 1);
    text = text.slice(0, at);
    if (!DIGEST.test(digest)) throw bad("the digest must be sha256: and 64 lowercase hex digits");
  }
  const slash = text.indexOf("/");
  let registry = "";
  if (slash >= 0 && isRegistry(text.slice(0, slash))) {
    registry = text.slice(0, slash);
    text = text.slice(slash + 1);
    if (registry.startsWith("[") && !/^\[[0-9a-fA-F:.]+\](:\d+)?$/.test(registry)) throw bad(`bad IPv6 registry ${registry}`);
    if (!registry.startsWith("[") && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(registry)) throw bad(`bad registry ${registry}`);
  }
  let tag: string | undefined;
  const colon = text.lastIndexOf(":");
  if (colon > text.lastIndexOf("/")) {
    tag = text.slice(colon + 1);
    text = text.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`bad tag ${JSON.stringify(tag)}`);
  }
  if (!text) throw bad("the repository name is missing");
  for (const part of text.split("/")) {
    if (!COMPONENT.test(part)) throw bad(`repository names use lowercase letters, digits and separators (${JSON.stringify(part)})`);
  }
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !text.includes("/")) text = `library/${text}`;
  return { registry, repository: text, tag, digest };
}

/** The ref on a given registry (docker.io puts one-word names under library/). */
export function onRegistry(ref: RegistryRef, registry: string): RegistryRef {
  const repository = registry === DOCKER_HUB && !ref.repository.includes("/") ? `library/${ref.repository}` : ref.repository;
  return { ...ref, registry, repository };
}

/** What to ask the registry for: the digest when pinned, else the tag (default latest). */
export function manifestReference(ref: RegistryRef): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/** `registry/repo:tag`, `registry/repo@digest`: the name rl stores, as podman does. */
export function formatRef(ref: RegistryRef): string {
  const base = `${ref.registry}/${ref.repository}`;
  if (ref.digest) return `${base}@${ref.digest}`;
  return `${base}:${ref.tag ?? "latest"}`;
}
