import type { Example } from "../verb";
import { recordContainer } from "../lib/engine/create-container";
import { Session } from "../lib/engine/session";
import { OPTIONS as RUN_OPTIONS, POSITIONALS, OPTIONS_END_AT_FIRST_ARGUMENT, runOptions, type Args } from "./run";

export const command = "create <IMAGE> [COMMAND..]";
export const describe = "Create a container without starting it (rl start runs it)";

// rl run's options, but for how a start attaches (rl start decides that).
const { detach: _d, attach: _a, "detach-keys": _k, ...OPTIONS_WITHOUT_DETACH } = RUN_OPTIONS;
export const OPTIONS = OPTIONS_WITHOUT_DETACH;
export { POSITIONALS, OPTIONS_END_AT_FIRST_ARGUMENT };
export const EXAMPLES: Example[] = [
  ["$0 create --name db -v pgdata:/var/lib/postgresql/data postgres", "Record a container; rl start db runs it in the background"],
  ["$0 create -it --name box alpine sh", "Then rl start -ai box: an interactive shell"],
];

export async function handler(a: Args): Promise<number> {
  console.log(await recordContainer(runOptions(a), new Session()));
  return 0;
}
