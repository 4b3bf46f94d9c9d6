import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, requireVolume, volumeRecord } from "../lib/index";
import { Session } from "../lib/engine/session";
import { parseFormat, printOutput, type OutputFormat } from "../lib/output-format";

export const command = "inspect <VOLUME..>";
export const describe = "Show a volume's details as JSON";

export const POSITIONALS = { VOLUME: "volume names" };
export const OPTIONS = {
  format: { alias: "f", type: "string", default: "json", coerce: parseFormat, describe: "json (the default), or a Go template such as '{{.Mountpoint}}'" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 volume inspect data", "Name, Driver, Mountpoint, CreatedAt, Labels, Scope, Options as JSON"],
  ["$0 volume inspect -f '{{.Mountpoint}}' data", "Where its files are on the host"],
];

export async function handler(a: { VOLUME: string[]; format: OutputFormat }): Promise<number> {
  const p = paths();
  const d = await new Session(p).cleaned();
  const records = a.VOLUME.map((n) => volumeRecord(p, requireVolume(d, n)));
  const asMaps = () => records.map((r) => ({ ...r, Labels: new Map(Object.entries(r.Labels)), Options: new Map(Object.entries(r.Options)) }));
  printOutput(a.format.kind === "table" ? parseFormat("json") : a.format, { json: () => records, table: () => "", records: asMaps });
  return 0;
}
