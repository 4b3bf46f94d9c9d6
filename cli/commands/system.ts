import type { Example } from "../verb";
import * as df from "./system-df";
import * as reset from "./system-reset";

export const command = "system <command>";
export const describe = "Manage rl's storage (df, reset)";
export const SUBCOMMANDS = [df, reset];

export const EXAMPLES: Example[] = [
  ["$0 system df", "Disk usage"],
  ["$0 system reset -f", "Remove everything"],
];
