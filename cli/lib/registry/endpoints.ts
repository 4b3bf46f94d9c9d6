import { RlError } from "../errors";
import { DOCKER_HUB, formatRef, onRegistry, type RegistryRef } from "./ref";
import { findRegistry, type RegistriesConf } from "./registries-conf";
import type { TlsVerify } from "./options";

/** One place to try for an image: the name rl records, and where its bytes are fetched from. */
export interface Endpoint {
  /** The image as the user knows it (recorded in the store): registry/repo:tag. */
  ref: RegistryRef;
  /** host[:port] actually contacted (a mirror or a remapped location). */
  host: string;
  /** Repository on that host. */
  repository: string;
  insecure: boolean;
}

/**
 * Where to look for `ref`, in order: for an unqualified name each unqualified-search registry
 * (docker.io when none is configured); for each, its mirrors, then its location. Blocked registries fail.
 */
export function endpointsFor(ref: RegistryRef, conf: RegistriesConf, o: { tlsVerify?: TlsVerify; forPush?: boolean }): Endpoint[] {
  const registries = ref.registry ? [ref.registry] : conf.unqualifiedSearch.length ? conf.unqualifiedSearch : [DOCKER_HUB];
  const out: Endpoint[] = [];
  for (const registry of registries) {
    const full = onRegistry(ref, registry);
    const name = `${full.registry}/${full.repository}`;
    const entry = findRegistry(conf, name);
    if (entry?.blocked) {
      if (ref.registry) throw new RlError(`registry ${registry} is blocked in ${conf.file ?? "registries.conf"}`);
      continue;
    }
    const remap = (location: string) => {
      // A [[registry]] with a prefix maps the matching part of the name to its location.
      const rest = entry && name.startsWith(entry.prefix) ? name.slice(entry.prefix.length).replace(/^\//, "") : full.repository;
      const target = entry ? `${location}${rest ? `/${rest}` : ""}` : `${registry}/${full.repository}`;
      const slash = target.indexOf("/");
      return { host: target.slice(0, slash), repository: target.slice(slash + 1) };
    };
    // An explicit --tls-verify wins either way; unset, registries.conf's insecure decides (podman's rule).
    const insecure = (configured: boolean) => (o.tlsVerify === undefined ? configured : !o.tlsVerify);
    if (!o.forPush) for (const m of entry?.mirrors ?? []) out.push({ ref: full, ...remap(m.location), insecure: insecure(m.insecure) });
    out.push({ ref: full, ...remap(entry?.location ?? registry), insecure: insecure(Boolean(entry?.insecure)) });
  }
  if (!out.length) throw new RlError(`every registry that could hold ${formatRef({ ...ref, registry: ref.registry || "?" })} is blocked`);
  return out;
}
