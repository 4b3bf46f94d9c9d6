import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { diskUsage, formatTable, humanSize, paths } from "../lib/index";
import { Session } from "../lib/engine/session";
import { printOutput, type OutputFormat } from "../lib/output-format";

export const command = "df";
export const describe = "Show how much disk images and containers use";

export const OPTIONS = { format: FORMAT_FLAG } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [["$0 system df", "TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE"]];

export async function handler(a: { format: OutputFormat }): Promise<number> {
  const p = paths();
  const rows = diskUsage(await new Session(p).cleaned(), p);
  const pct = (r: (typeof rows)[number]) => (r.size ? Math.round((100 * r.reclaimable) / r.size) : 0);
  const records = rows.map((r) => ({ Type: r.type, Total: r.total, Active: r.active, Size: r.size, Reclaimable: r.reclaimable }));
  printOutput(a.format, {
    json: () => records,
    table: () => formatTable([["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"], ...rows.map((r) => [r.type, String(r.total), String(r.active), humanSize(r.size), `${humanSize(r.reclaimable)} (${pct(r)}%)`])]),
    // podman's df reporter prints sizes for people in templates.
    records: () => rows.map((r) => ({ Type: r.type, Total: r.total, Active: r.active, Size: humanSize(r.size), Reclaimable: `${humanSize(r.reclaimable)} (${pct(r)}%)`, RawSize: r.size, RawReclaimable: r.reclaimable })),
  });
  return 0;
}
