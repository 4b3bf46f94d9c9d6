import type { Example } from "../verb";
import * as run from "./healthcheck-run";

export const command = "healthcheck <command>";
export const describe = "Container healthchecks (run)";
export const SUBCOMMANDS = [run];

export const EXAMPLES: Example[] = [["$0 healthcheck run web", "Run web's --health-cmd now"]];
