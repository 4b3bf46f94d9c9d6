import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { formatHostInfo } from "../lib/host/table";
import { hostInfo } from "../lib/host/info";
import { printOutput, type OutputFormat } from "../lib/output-format";

export const command = "info";
export const describe = "Show what this host offers rl: user namespaces, storage, network, cgroups, paths";

export const OPTIONS = { format: { ...FORMAT_FLAG, alias: "f" } } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 info", "Check whether this host can run rootless containers, and what to install if not"],
  ["$0 info --format json", "The same, for programs"],
  ["$0 info -f '{{.host.kernel}}'", "One value, with a Go template over the JSON's fields"],
];

export async function handler(a: { format: OutputFormat }): Promise<number> {
  const info = await hostInfo();
  printOutput(a.format, { json: () => info, table: () => formatHostInfo(info), records: () => [info] });
  return 0;
}
