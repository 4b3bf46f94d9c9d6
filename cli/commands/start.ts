import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, requireContainer } from "../lib/index";
import { processRuns } from "../lib/store/container-state";
import { startContainer } from "../lib/engine/start-container";
import { RlError } from "../lib/errors";
import { attachRunning } from "../lib/engine/attach-running";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../lib/runtime/detach-keys";
import { Session } from "../lib/engine/session";

export const command = "start <CONTAINER..>";
export const describe = "Start stopped containers again (made by rl run or rl create), with the options they were made with";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  attach: { alias: "a", type: "boolean", default: false, describe: "Stay attached: relay its output (and input with -i), wait, exit with its code" },
  interactive: { alias: "i", type: "boolean", default: false, describe: "Send your input to it (with -a)" },
  "detach-keys": { type: "string", default: DEFAULT_DETACH_KEYS, describe: "With -a: the keys that detach, leaving it running (\"\": none)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 start db", "Start the stopped container db in the background; its files, volumes and ports are as they were"],
  ["$0 start -ai box", "Start box and attach to it (an interactive shell made with rl create -it)"],
];

export async function handler(a: { CONTAINER: string[]; attach: boolean; interactive: boolean; "detach-keys": string }): Promise<number> {
  if (a.attach && a.CONTAINER.length > 1) throw new RlError("start -a attaches to one container: name only one");
  const detachKeys = parseDetachKeys(a["detach-keys"]);
  const p = paths();
  const session = new Session(p);
  const d = await session.swept();
  for (const name of a.CONTAINER) {
    const c = requireContainer(d, name);
    // Already running: nothing to do, as podman; with -a, attach to it.
    if (processRuns(c)) {
      if (a.attach) return attachRunning(p, c, { stdin: a.interactive, detachKeys, sigProxy: true });
      console.log(name);
      continue;
    }
    const code = await startContainer(session, c, { attach: a.attach, interactive: a.interactive, detachKeys });
    if (a.attach) return code;
    console.log(name);
  }
  return 0;
}
