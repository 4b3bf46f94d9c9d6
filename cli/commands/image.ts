import type { Example } from "../verb";
import * as ls from "./image-ls";
import * as inspect from "./image-inspect";
import * as history from "./image-history";
import * as prune from "./image-prune";
import * as rm from "./image-rm";
import * as tag from "./image-tag";

export const command = "image <command>";
export const describe = "Manage images (ls, inspect, history, prune, rm, tag)";
export const SUBCOMMANDS = [ls, inspect, history, prune, rm, tag];

export const EXAMPLES: Example[] = [
  ["$0 image ls", "List images"],
  ["$0 image inspect alpine", "An image's details as JSON"],
];
