import type { Example } from "../verb";
import * as create from "./volume-create";
import * as ls from "./volume-ls";
import * as inspect from "./volume-inspect";
import * as rm from "./volume-rm";
import * as prune from "./volume-prune";
import * as exists from "./volume-exists";

export const command = "volume <command>";
export const describe = "Manage volumes (create, ls, inspect, rm, prune, exists)";
export const SUBCOMMANDS = [create, ls, inspect, rm, prune, exists];

export const EXAMPLES: Example[] = [
  ["$0 volume create data", "A volume named data, for rl run -v data:/path"],
  ["$0 volume ls", "List volumes"],
];
