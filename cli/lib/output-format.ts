/**
 * `--format` of the listing and inspect verbs, as podman reads it: `table` (the default listing), `json`,
 * a Go template run on each record (`{{.Names}}`), or `table TEMPLATE` (the same, with a header line and
 * aligned columns: tabs or spaces between actions separate them). `\t` and `\n` typed literally are tab
 * and newline.
 */
import { writeSync } from "node:fs";
import { RlError } from "./errors";
import { Template } from "./template/template";

export type OutputFormat = { kind: "table" } | { kind: "json" } | { kind: "template"; template: Template; table: boolean };

/** Read a `--format` value; what is wrong with it is the error's message (the option parser names the flag). */
export function parseFormat(value: string): OutputFormat {
  const v = value.trim();
  if (v === "" || v === "table") return { kind: "table" };
  if (v === "json") return { kind: "json" };
  const table = /^table\s/.test(v);
  let body = (table ? v.replace(/^table\s+/, "") : value).replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  // In a table, spaces between actions separate columns too, as podman takes them.
  if (table) body = body.split(/({{[\s\S]*?}})/).map((part, i) => (i % 2 ? part : part.replace(/ +/g, "\t"))).join("");
  if (!body.includes("{{")) throw new RlError("use table, json, or a Go template such as '{{.ID}}'");
  return { kind: "template", template: new Template(body), table };
}

/**
 * Each record through the template, one per line; with `table`, a header line first and columns aligned as
 * podman's tabwriter does. A record the template cannot run on (a field it lacks) is a clear error.
 */
export function renderTemplate(f: Extract<OutputFormat, { kind: "template" }>, records: object[], headers: Record<string, string> = {}, blank?: object): string {
  try {
    const lines = records.map((r) => f.template.run(r).replace(/\n$/, ""));
    if (!f.table) return lines.map((l) => `${l}\n`).join("");
    const header = f.template.run(headerRecord(records[0] ?? blank, headers));
    return alignColumns([header.replace(/\n$/, ""), ...lines]);
  } catch (err) {
    throw new RlError(`cannot format the output with ${JSON.stringify(f.template.source)}: ${(err as Error).message}`);
  }
}

const headerText = (field: string, headers: Record<string, string>) => headers[field] ?? field.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2").toUpperCase();

/**
 * A record whose every field holds its column header: "CreatedAt" → "CREATED AT", unless `headers` names
 * it. With no record to take the fields from (nothing listed), any field the template names has its header
 * (a Map, which the template reads without checking its keys).
 */
function headerRecord(sample: object | undefined, headers: Record<string, string>): object {
  if (!sample) return new (class extends Map<string, string> {
    override get(field: string): string {
      return headerText(field, headers);
    }
  })();
  const out: Record<string, string> = {};
  for (const k of Object.keys(sample)) out[k] = headerText(k, headers);
  return out;
}

/** Tab-separated cells padded to their column's width plus 2, at least 12 (Go's tabwriter as podman sets it up); the last cell is not padded. */
export function alignColumns(lines: string[]): string {
  const rows = lines.flatMap((l) => l.split("\n")).map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const r of rows) r.slice(0, -1).forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 12, [...c].length + 2)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c + " ".repeat(widths[i]! - [...c].length) : c)).join("")).join("\n") + "\n";
}

/** What a listing or inspect verb prints, in each form `--format` may ask for. */
export interface Output {
  json: () => unknown;
  table: () => string;
  /** The records a template runs on, with podman's field names. */
  records: () => object[];
  /** Column headers that are not the field's name in capitals ("ID" → "CONTAINER ID"). */
  headers?: Record<string, string>;
  /** A record with every field, for the header of a table with no rows. */
  blank?: object;
}

export function printOutput(f: OutputFormat, o: Output): void {
  const text = f.kind === "json" ? `${JSON.stringify(o.json(), null, 2)}\n` : f.kind === "table" ? `${o.table()}\n` : renderTemplate(f, o.records(), o.headers, o.blank);
  writeSync(1, text);
}

/** A time as Go prints a time.Time: "2026-12-07 15:42:29.199 +0000 UTC". */
export function goTime(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-07T15:42:29.199Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 23).replace(/\.?0+$/, "")} +0000 UTC`;
}
