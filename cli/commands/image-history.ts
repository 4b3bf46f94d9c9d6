import type { Argv } from "yargs";
import { ago, formatTable, humanSize, imageHistory, openStore, paths, requireImage } from "../lib/index";

export const command = "history <IMAGE>";
export const describe = "Show how an image was built, newest step first";

export function builder(y: Argv) {
  return y
    .positional("IMAGE", { type: "string", describe: "image name or id" })
    .option("no-trunc", { type: "boolean", default: false, describe: "Do not shorten CREATED BY" })
    .option("format", { type: "string", choices: ["table", "json"], default: "table", describe: "Output format" })
    .example("$0 image history alpine", "ID, CREATED, CREATED BY, SIZE, COMMENT");
}

export async function handler(a: { IMAGE: string; "no-trunc": boolean; format: string }): Promise<number> {
  const d = await openStore(paths());
  const rows = imageHistory(d, requireImage(d, a.IMAGE));
  if (a.format === "json") {
    console.log(JSON.stringify(rows.map((r) => ({ id: r.id, created: r.created, createdBy: r.createdBy, size: r.size, comment: r.comment })), null, 2));
    return 0;
  }
  const cut = (s: string) => (a["no-trunc"] || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  const table = [["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"]];
  for (const r of rows) table.push([r.id, r.created ? ago(Date.parse(r.created)) : "", cut(r.createdBy), humanSize(r.size), r.comment]);
  console.log(formatTable(table));
  return 0;
}
