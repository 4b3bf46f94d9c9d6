/** The functions a `--format` template may call: Go's text/template builtins and podman's additions. */
import { goNumber, goString, toJson, truthy } from "./go-value";
import { sprintf } from "./sprintf";

export type TemplateFunction = (...args: unknown[]) => unknown;

/** eq is true when its first argument equals any of the others; the other comparisons take two. */
const compare = (name: string, test: (c: number) => boolean) => (a: unknown, ...rest: unknown[]) => {
  if (rest.length === 0) throw new Error("missing argument for comparison");
  if (name !== "eq" && rest.length > 1) throw new Error(`${name} takes two arguments`);
  return rest.some((b) => test(order(a, b, name)));
};

function order(a: unknown, b: unknown, name: string): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (name === "eq" || name === "ne") return a === b || (a == null && b == null) ? 0 : 1;
  throw new Error(`incompatible types for comparison (${typeName(a)} and ${typeName(b)})`);
}

export function typeName(v: unknown): string {
  if (v === undefined || v === null) return "nil";
  if (Array.isArray(v)) return "list";
  if (v instanceof Map) return "map";
  return typeof v === "object" ? "record" : typeof v;
}

function index(v: unknown, ...keys: unknown[]): unknown {
  for (const k of keys) {
    if (Array.isArray(v) || typeof v === "string") {
      if (typeof k !== "number" || !Number.isInteger(k)) throw new Error(`cannot index a ${typeName(v)} with ${goString(k)}`);
      if (k < 0 || k >= v.length) throw new Error(`index out of range: ${k}`);
      v = typeof v === "string" ? Buffer.from(v)[k] : v[k];
    } else if (v instanceof Map) {
      // A missing key gives the zero value of the map's values, as in Go: "" for a map of strings.
      v = v.has(String(k)) ? v.get(String(k)) : [...v.values()].every((x) => typeof x === "string") ? "" : undefined;
    }
    else if (v && typeof v === "object") v = (v as Record<string, unknown>)[String(k)];
    else if (v === undefined || v === null) throw new Error("index of untyped nil");
    else throw new Error(`cannot index a ${typeName(v)}`);
  }
  return v;
}

function length(v: unknown): number {
  if (typeof v === "string") return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (v instanceof Map) return v.size;
  if (v && typeof v === "object") return Object.keys(v).length;
  throw new Error(`len of ${typeName(v)}`);
}

/** fmt.Sprint: operands joined, with a space between two that are both not strings. */
function sprint(...args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goString(a);
  });
  return out;
}

function strings(v: unknown): string[] {
  if (!Array.isArray(v)) throw new Error(`wrong type for value; expected a list; got ${typeName(v)}`);
  return v.map(goString);
}

export const FUNCTIONS: Record<string, TemplateFunction> = {
  and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
  or: (...args) => args.find((a) => truthy(a)) ?? args[args.length - 1],
  not: (a) => !truthy(a),
  len: (v) => length(v),
  index,
  print: sprint,
  println: (...args) => `${args.map(goString).join(" ")}\n`,
  printf: (format, ...args) => sprintf(String(format), args),
  eq: compare("eq", (c) => c === 0),
  ne: compare("ne", (c) => c !== 0),
  lt: compare("lt", (c) => c < 0),
  le: compare("le", (c) => c <= 0),
  gt: compare("gt", (c) => c > 0),
  ge: compare("ge", (c) => c >= 0),
  json: (v) => toJson(v),
  upper: (s) => goString(s).toUpperCase(),
  lower: (s) => goString(s).toLowerCase(),
  title: (s) => goString(s).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, sep: string, c: string) => sep + c.toUpperCase()),
  join: (list, sep) => strings(list).join(goString(sep)),
  split: (s, sep) => goString(s).split(goString(sep)),
  truncate: (s, n) => [...goString(s)].slice(0, Number(n)).join(""),
  pad: (s, n, fill) => goString(s).padEnd(Number(n), fill === undefined ? " " : goString(fill)),
};

export { goNumber };
