import type { Argv } from "yargs";
import * as df from "./system-df";
import * as reset from "./system-reset";

export const command = "system <command>";
export const describe = "Manage rl's storage (df, reset)";
export const SUBCOMMANDS = [df, reset];

export function builder(y: Argv) {
  return y.example("$0 system df", "Disk usage").example("$0 system reset -f", "Remove everything");
}
