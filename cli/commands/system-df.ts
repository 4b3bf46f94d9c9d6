import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { diskUsage, formatTable, humanSize, openStore, paths } from "../lib/index";

export const command = "df";
export const describe = "Show how much disk images and containers use";

export const OPTIONS = { format: FORMAT_FLAG } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [["$0 system df", "TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE"]];

export async function handler(a: { format: string }): Promise<number> {
  const p = paths();
  const rows = diskUsage(await openStore(p), p);
  if (a.format === "json") {
    console.log(JSON.stringify(rows.map((r) => ({ Type: r.type, Total: r.total, Active: r.active, Size: r.size, Reclaimable: r.reclaimable })), null, 2));
    return 0;
  }
  const pct = (r: (typeof rows)[number]) => (r.size ? Math.round((100 * r.reclaimable) / r.size) : 0);
  const table = [["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]];
  for (const r of rows) table.push([r.type, String(r.total), String(r.active), humanSize(r.size), `${humanSize(r.reclaimable)} (${pct(r)}%)`]);
  console.log(formatTable(table));
  return 0;
}
