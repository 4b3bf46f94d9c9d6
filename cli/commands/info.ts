import type { Argv } from "yargs";
import { formatHostInfo } from "../lib/host/table";
import { hostInfo } from "../lib/host/info";

export const command = "info";
export const describe = "Show what this host offers rl: user namespaces, storage, network, cgroups, paths";

export function builder(y: Argv) {
  return y
    .option("format", { alias: "f", type: "string", choices: ["table", "json"], default: "table", describe: "Output format" })
    .example("$0 info", "Check whether this host can run rootless containers, and what to install if not")
    .example("$0 info --format json", "The same, for programs");
}

export async function handler(a: { format: string }): Promise<number> {
  const info = await hostInfo();
  console.log(a.format === "json" ? JSON.stringify(info, null, 2) : formatHostInfo(info));
  return 0;
}
