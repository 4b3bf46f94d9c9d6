import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
// Not through lib/index: inspect loads only what it uses (each module costs start-up time).
import { RlError } from "../lib/errors";
import { paths } from "../lib/paths";
import { findContainer } from "../lib/store/containers-table";
import { findImage } from "../lib/store/images";
import { inspectImage } from "../lib/store/inspect";
import { inspectContainer } from "../lib/runtime/inspect-container";
import { parseFormat, printOutput, type OutputFormat } from "../lib/output-format";
import { Session } from "../lib/engine/session";

export const command = "inspect <NAME..>";
export const describe = "Show containers' or images' details as JSON, or one value with -f";
export const POSITIONALS = { NAME: "container or image names or ids" };
export const OPTIONS = {
  type: { alias: "t", type: "string", choices: ["all", "container", "image"], default: "all", describe: "What the names are: a container first, else an image (all)" },
  format: { alias: "f", type: "string", default: "json", coerce: parseFormat, describe: "json (the default), or a Go template such as '{{.State.Pid}}'" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 inspect web", "Everything about the container web, podman's fields"],
  ["$0 inspect -f '{{.State.Pid}}' web", "Its first process's pid (for nsenter -t PID)"],
  ["$0 inspect -f '{{json .Config.Env}}' alpine", "An image's environment"],
];

export async function handler(a: { NAME: string[]; type: string; format: OutputFormat }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  const records = a.NAME.map((name) => {
    const c = a.type !== "image" ? findContainer(d, name) : undefined;
    if (c) return inspectContainer(d, p, c);
    const img = a.type !== "container" ? findImage(d, name) : undefined;
    if (img) return inspectImage(d, img);
    throw new RlError(`no such ${a.type === "all" ? "container or image" : a.type}: ${name}`);
  });
  printOutput(a.format.kind === "table" ? parseFormat("json") : a.format, { json: () => records, table: () => "", records: () => records });
  return 0;
}
