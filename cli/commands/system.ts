import type { Example } from "../verb";
import * as df from "./system-df";
import * as reset from "./system-reset";
import * as prune from "./system-prune";

export const command = "system <command>";
export const describe = "Manage rl's storage (df, prune, reset)";
export const SUBCOMMANDS = [df, prune, reset];

export const EXAMPLES: Example[] = [
  ["$0 system df", "Disk usage"],
  ["$0 system prune -a --volumes", "Remove what no running container uses"],
  ["$0 system reset -f", "Remove everything"],
];
