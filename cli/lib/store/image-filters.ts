/** The `--filter`s of `rl images` and of the prune verbs, docker's keys, over stored images. */
import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { labelMatches, parseFilters, requireReference, untilTimes } from "../filters";
import { shortName, splitName } from "../image/reference";
import { findImage, type StoredImage } from "./images";

/** When an image was built (its config's `created`), else when it was stored (ms since the epoch). */
export function imageCreated(img: StoredImage): number {
  return img.config.created ? Date.parse(img.config.created) : img.stored;
}

/**
 * docker's reference filter: a glob (`*` within a path component, `?`) against the name as typed or as
 * stored (`alpine:3.*` matches docker.io/library/alpine:3.20); a name without a tag matches every tag.
 */
export function referenceMatches(name: string, pattern: string): boolean {
  const short = shortName(name);
  const glob = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
  const [repo] = splitName(name);
  const [shortRepo] = splitName(short);
  return [name, short].some((n) => glob.test(n)) || (!/:[^/]*$/.test(pattern) && [repo, shortRepo].some((n) => glob.test(n)));
}

/** `rl images --filter`: dangling, reference, label, before and since (which name an image). */
export function imageFilter(d: Database, filters: string[]): (img: StoredImage) => boolean {
  const at = (key: string, value: string) => imageCreated(requireReference(findImage(d, value), key, value, "image"));
  return parseFilters<StoredImage>(filters, {
    dangling: (i, v) => {
      if (v !== "true" && v !== "false") throw new RlError(`invalid filter dangling=${v}: use true or false`);
      return (i.names.length === 0) === (v === "true");
    },
    reference: (i, v) => i.names.some((n) => referenceMatches(n, v)),
    label: (i, v) => labelMatches(i.config.config?.Labels ?? {}, v),
    before: (i, v) => imageCreated(i) < at("before", v),
    since: (i, v) => imageCreated(i) > at("since", v),
  });
}

/** prune's `--filter`: until (a time or a duration ago) and label. */
export function pruneFilter(filters: string[]): (img: StoredImage) => boolean {
  const until = untilTimes(filters);
  return parseFilters<StoredImage>(filters, {
    until: (img, v) => imageCreated(img) < until.get(v)!,
    label: (img, v) => labelMatches(img.config.config?.Labels ?? {}, v),
  });
}
