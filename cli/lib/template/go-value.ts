/**
 * Values as Go's fmt prints them with %v, for templates written against podman's Go structs: strings as
 * they are, lists as `[a b]`, maps as `map[k:v]` with sorted keys, records as `{v1 v2}`, no value as `<no value>`.
 * In template data, a JS `Map` stands for a Go map (a missing key is no value) and a plain object for a
 * struct (a missing field is an error).
 */
export const NO_VALUE = "<no value>";

export function goString(v: unknown): string {
  if (v === undefined) return NO_VALUE;
  if (v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number") return goNumber(v);
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `[${v.map(goString).join(" ")}]`;
  if (v instanceof Map) return `map[${[...v.keys()].sort().map((k) => `${k}:${goString(v.get(k))}`).join(" ")}]`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return `{${Object.values(v as object).map(goString).join(" ")}}`;
  return String(v);
}

/** Go's %v of a number: integers in full, other floats in the shortest form (%g with exponent past 21 digits). */
export function goNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  if (!Number.isFinite(n)) return Number.isNaN(n) ? "NaN" : n > 0 ? "+Inf" : "-Inf";
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 21) return n.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  return String(n);
}

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/** A value as JSON, Go maps (JS `Map`) as objects. */
export function toJson(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x) => (x instanceof Map ? Object.fromEntries(x) : x));
}
