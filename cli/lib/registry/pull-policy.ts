import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import { formatPlatform, platformMatches, wantedPlatform } from "../image/platform";
import type { Paths } from "../paths";
import type { IdMapping } from "../security/idmap";
import type { RegistryOptions } from "./options";
import type { Platform } from "../image/types";
import { findImage, type StoredImage } from "../store/images";
import { formatRef, onRegistry, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

/**
 * podman's pull policies: always pull; pull when missing; never pull; pull when newer, that is when the
 * registry's digest differs from the stored image's (a registry that cannot be asked leaves the stored
 * image in use, with a warning).
 */
export const PULL_POLICIES = ["always", "missing", "never", "newer"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export function parsePullPolicy(text: string, flag = "--pull"): PullPolicy {
  if ((PULL_POLICIES as readonly string[]).includes(text)) return text as PullPolicy;
  throw new RlError(`invalid ${flag} ${JSON.stringify(text)}: use always, missing, never or newer`);
}

/** What picks and pulls an image: the policy, the platform wanted and the registry flags. */
export interface PolicyOptions extends RegistryOptions {
  pull?: PullPolicy;
  platform?: string;
  os?: string;
  arch?: string;
  variant?: string;
  quiet?: boolean;
}

/**
 * The image `name` (a registry name, or a stored image's id) as `o.pull` says (default missing): the stored
 * one, or one pulled now. The registry code is loaded only when the registry is asked.
 */
export async function imageByPolicy(d: Database, p: Paths, name: string, mapping: IdMapping, o: PolicyOptions): Promise<StoredImage> {
  const policy = o.pull ?? "missing";
  const want = wantedPlatform(o);
  // A platform asked for must be the stored image's; with none asked, the stored image serves whatever its platform.
  const asked = platformAsked(o) ? want : undefined;
  const stored = policy === "always" ? undefined : findPulled(d, name, asked);
  // An image named by its id has no registry to ask.
  const byId = stored && stored.id.slice("sha256:".length).startsWith(name.replace(/^sha256:/, ""));
  if (stored && (policy !== "newer" || byId)) return stored;
  if (!stored && policy === "never") throw new RlError(`image ${name} is not in the local store${asked ? ` for ${formatPlatform(asked)}` : ""} (--pull=never)`);
  const [{ pullImage }, { interruptible }, { progressMode }] = await Promise.all([import("./pull"), import("./options"), import("./progress")]);
  return interruptible((signal) => pullImage(d, p, name, mapping, { ...o, signal, platform: want, progress: progressMode(Boolean(o.quiet)), stored }));
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
