/**
 * `--filter KEY=VALUE` of the listing verbs, as docker and podman combine them: a record matches when,
 * for every key given, it matches one of that key's values (AND across keys, OR within a key).
 */
import { RlError } from "./errors";

/** One key's test of a record against one value (each verb has its table of these). */
export type FilterTest<R> = (record: R, value: string) => boolean;

export function parseFilters<R>(raw: readonly string[], tests: Record<string, FilterTest<R>>): (record: R) => boolean {
  const byKey = new Map<string, string[]>();
  for (const f of raw) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    if (eq <= 0) throw new RlError(`invalid filter ${JSON.stringify(f)}: use KEY=VALUE (keys: ${Object.keys(tests).join(", ")})`);
    if (!Object.hasOwn(tests, key)) throw new RlError(`invalid filter ${JSON.stringify(f)}: unknown key ${JSON.stringify(key)} (keys: ${Object.keys(tests).join(", ")})`);
    byKey.set(key, [...(byKey.get(key) ?? []), f.slice(eq + 1)]);
  }
  return (record) => [...byKey].every(([key, values]) => values.some((v) => tests[key]!(record, v)));
}

/** docker's label filter: `KEY` (present) or `KEY=VALUE`; `!=` negates. */
export function labelMatches(labels: Record<string, string>, value: string): boolean {
  const ne = value.indexOf("!=");
  if (ne > 0) return labels[value.slice(0, ne)] !== value.slice(ne + 2);
  const eq = value.indexOf("=");
  if (eq < 0) return Object.hasOwn(labels, value);
  return labels[value.slice(0, eq)] === value.slice(eq + 1);
}

/** A name filter: docker matches names as regular expressions (`^web`, `db$`); a plain word matches anywhere. */
export function nameMatches(name: string, pattern: string): boolean {
  try {
    return new RegExp(pattern).test(name);
  } catch {
    throw new RlError(`invalid filter name=${pattern}: not a regular expression`);
  }
}

/** A time filter's reference: the record named (by the verb's own lookup) must exist. */
export function requireReference<T>(found: T | undefined, key: string, value: string, what: string): T {
  if (found === undefined) throw new RlError(`invalid filter ${key}=${value}: no such ${what}`);
  return found;
}

/**
 * docker's `until` filter of prune: a time (RFC 3339, a date, or Unix seconds) or a Go duration before
 * now ("24h", "90m", "1h30m"); what was created before it matches.
 */
export function untilTime(value: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length && parts.map((m) => m[0]).join("") === value) return now - parts.reduce((n, m) => n + Number(m[1]) * units[m[2]!]!, 0);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new RlError(`invalid filter until=${value}: use a duration (24h, 90m) or a time (2026-12-01T00:00:00Z, Unix seconds)`);
  return t;
}

/** The times of the `until=` filters among `filters`, read once, now: a bad one is an error even when there is nothing to prune. */
export function untilTimes(filters: readonly string[]): Map<string, number> {
  return new Map(filters.filter((f) => f.startsWith("until=")).map((f) => [f.slice(6), untilTime(f.slice(6))]));
}
