import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { ago, formatTable, humanSize, imageHistory, requireImage } from "../lib/index";
import { Session } from "../lib/engine/session";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";

export const command = "history <IMAGE>";
export const describe = "Show how an image was built, newest step first";

export const POSITIONALS = { IMAGE: "image name or id" };
export const OPTIONS = {
  "no-trunc": { type: "boolean", default: false, describe: "Do not shorten CREATED BY" },
  format: FORMAT_FLAG,
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 image history alpine", "ID, CREATED, CREATED BY, SIZE, COMMENT"],
  ["$0 history alpine", "The same (docker's spelling)"],
];

export async function handler(a: { IMAGE: string; "no-trunc": boolean; format: OutputFormat }): Promise<number> {
  const d = await new Session().cleaned();
  const rows = imageHistory(d, requireImage(d, a.IMAGE));
  const cut = (s: string) => (a["no-trunc"] || s.length <= 45 ? s : `${s.slice(0, 44)}…`);
  printOutput(a.format, {
    json: () => rows.map((r) => ({ id: r.id, created: r.created, createdBy: r.createdBy, size: r.size, comment: r.comment })),
    table: () => formatTable([["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"], ...rows.map((r) => [r.id, r.created ? ago(Date.parse(r.created)) : "", cut(r.createdBy), humanSize(r.size), r.comment])]),
    records: () =>
      rows.map((r) => ({
        ID: r.id,
        Created: r.created ? ago(Date.parse(r.created)) : "",
        CreatedAt: r.created ? goTime(Date.parse(r.created)) : "",
        CreatedSince: r.created ? ago(Date.parse(r.created)) : "",
        CreatedBy: cut(r.createdBy),
        Size: humanSize(r.size),
        Comment: r.comment,
      })),
    headers: { CreatedSince: "CREATED" },
  });
  return 0;
}
