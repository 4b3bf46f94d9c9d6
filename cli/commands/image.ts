import type { Argv } from "yargs";
import * as ls from "./image-ls";
import * as inspect from "./image-inspect";
import * as history from "./image-history";
import * as prune from "./image-prune";

export const command = "image <command>";
export const describe = "Manage images (ls, inspect, history, prune)";
export const SUBCOMMANDS = [ls, inspect, history, prune];

export function builder(y: Argv) {
  return y.example("$0 image ls", "List images").example("$0 image inspect alpine", "An image's details as JSON");
}
