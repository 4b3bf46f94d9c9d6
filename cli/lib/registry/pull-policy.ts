import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import { platformMatches } from "../image/platform";
import type { Platform } from "../image/types";
import { findImage, type StoredImage } from "../store/images";
import { formatRef, onRegistry, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

export type PullPolicy = "always" | "missing" | "never";

export function parsePullPolicy(text: string): PullPolicy {
  if (text === "always" || text === "missing" || text === "never") return text;
  if (text === "newer") return "always";
  throw new RlError(`invalid --pull ${JSON.stringify(text)}: use always, missing or never`);
}

/** Whether the user named a platform (--platform, --os, --arch, --variant), as opposed to taking the host's. */
export function platformAsked(o: { platform?: string; os?: string; arch?: string; variant?: string }): boolean {
  return Boolean(o.platform || o.os || o.arch || o.variant);
}

/** An image fits `want` unless its config names another os or architecture (or variant). */
export function imageHasPlatform(img: StoredImage, want: Platform): boolean {
  const c = img.config;
  if (!c.architecture || !c.os) return true;
  return platformMatches(want, { os: c.os, architecture: c.architecture, variant: c.variant });
}

/**
 * A stored image by id or name; a short name also as each unqualified-search registry would qualify it.
 * With `platform` (the user asked for one), a name stored for another platform does not count, so that
 * `--pull missing` pulls the platform asked for, as podman does; an id names one image whatever its platform.
 */
export function findPulled(d: Database, text: string, platform?: Platform): StoredImage | undefined {
  const fits = (img: StoredImage | undefined) => (img && (!platform || imageHasPlatform(img, platform)) ? img : undefined);
  const direct = findImage(d, text);
  if (direct && !direct.names.includes(normalizeName(text))) return direct; // found by id
  if (direct) return fits(direct);
  let ref: ReturnType<typeof parseRegistryRef>;
  try {
    ref = parseRegistryRef(text);
  } catch {
    return undefined;
  }
  if (ref.registry) return undefined;
  for (const registry of loadRegistriesConf().unqualifiedSearch) {
    const img = findImage(d, formatRef(onRegistry(ref, registry)));
    if (img) return fits(img);
  }
  return undefined;
}
