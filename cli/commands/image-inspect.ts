import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { requireImage } from "../lib/store/images";
import { inspectImage } from "../lib/store/inspect";
import { Session } from "../lib/engine/session";
import { parseFormat, printOutput, type OutputFormat } from "../lib/output-format";

export const command = "inspect <IMAGE..>";
export const describe = "Show an image's details as JSON";

export const POSITIONALS = { IMAGE: "image names or ids" };
export const OPTIONS = {
  format: { alias: "f", type: "string", default: "json", coerce: parseFormat, describe: "json (the default), or a Go template such as '{{.Config.Cmd}}'" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 image inspect alpine", "Id, Digest, RepoTags, Config, RootFS, Size, History… as JSON"],
  ["$0 image inspect -f '{{json .Config.Cmd}}' alpine", "One field"],
];

export async function handler(a: { IMAGE: string[]; format: OutputFormat }): Promise<number> {
  const d = await new Session().cleaned();
  const records = a.IMAGE.map((t) => inspectImage(d, requireImage(d, t)));
  printOutput(a.format.kind === "table" ? parseFormat("json") : a.format, { json: () => records, table: () => "", records: () => records });
  return 0;
}
