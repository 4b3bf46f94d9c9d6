import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { OPTIONS as INSPECT_OPTIONS, handler as inspect } from "./inspect";
import type { OutputFormat } from "../lib/output-format";

/** `rl container inspect`: `rl inspect --type container`. */
export const command = "inspect <CONTAINER..>";
export const describe = "Show containers' details as JSON, or one value with -f";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = { format: INSPECT_OPTIONS.format } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 container inspect web", "Everything about the container web, podman's fields"],
  ["$0 container inspect -f '{{.State.Status}}' web", "One value: created, running or exited"],
];

export async function handler(a: { CONTAINER: string[]; format: OutputFormat }): Promise<number> {
  return inspect({ NAME: a.CONTAINER, type: "container", format: a.format });
}
