import type { Example } from "../verb";
import * as ls from "./container-ls";
import * as ps from "./ps";
import * as rm from "./rm";
import * as inspect from "./container-inspect";
import * as port from "./port";
import * as rename from "./rename";
import * as prune from "./container-prune";
import * as top from "./top";
import * as exists from "./container-exists";
import * as logs from "./logs";
import * as create from "./create";
import * as start from "./start";
import * as restart from "./restart";
import * as stop from "./stop";
import * as kill from "./kill";
import * as attach from "./attach";
import * as wait from "./wait";
import * as stats from "./stats";
import * as update from "./update";
import * as pause from "./pause";
import * as unpause from "./unpause";

export const command = "container <command>";
export const describe = "Manage containers (ls, rm, inspect, create, start, attach, restart, logs, stop, kill, wait, stats, update, pause, unpause, port, rename, prune, top, exists)";
export const SUBCOMMANDS = [ls, { ...ls, command: "list" }, ps, rm, inspect, create, start, attach, restart, logs, stop, kill, wait, stats, update, pause, unpause, port, rename, prune, top, exists];

export const EXAMPLES: Example[] = [
  ["$0 container ls -a", "List every container (as rl ps -a)"],
  ["$0 container prune -f", "Remove every stopped container"],
  ["$0 container exists web", "Exit 0 when web exists, 1 when not"],
];
