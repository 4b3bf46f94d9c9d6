import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { findImage, type StoredImage } from "../store/images";
import { formatRef, onRegistry, parseRegistryRef } from "./ref";
import { loadRegistriesConf } from "./registries-conf";

export type PullPolicy = "always" | "missing" | "never";

export function parsePullPolicy(text: string): PullPolicy {
  if (text === "always" || text === "missing" || text === "never") return text;
  if (text === "newer") return "always";
  throw new RlError(`invalid --pull ${JSON.stringify(text)}: use always, missing or never`);
}

/** A stored image by id or name; a short name also as each unqualified-search registry would qualify it. */
export function findPulled(d: Database, text: string): StoredImage | undefined {
  const direct = findImage(d, text);
  if (direct) return direct;
  let ref: ReturnType<typeof parseRegistryRef>;
  try {
    ref = parseRegistryRef(text);
  } catch {
    return undefined;
  }
  if (ref.registry) return undefined;
  for (const registry of loadRegistriesConf().unqualifiedSearch) {
    const img = findImage(d, formatRef(onRegistry(ref, registry)));
    if (img) return img;
  }
  return undefined;
}
