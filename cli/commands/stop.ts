import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { listContainers, paths, requireContainer } from "../lib/index";
import { stopContainer } from "../lib/engine/stop-container";
import { restartPending } from "../lib/engine/after-exit";
import { RlError } from "../lib/errors";
import { Session } from "../lib/engine/session";
import { namesOrAll } from "./names-or-all";

export const command = "stop [CONTAINER..]";
export const describe = "Stop running containers: their stop signal, then SIGKILL after a timeout";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  time: { alias: "t", type: "number", default: 10, describe: "Seconds to wait after the stop signal (the image's StopSignal, else SIGTERM) before SIGKILL; 0 kills at once" },
  all: { alias: "a", type: "boolean", default: false, describe: "Stop every running container" },
  ignore: { alias: "i", type: "boolean", default: false, describe: "Ignore containers that do not exist" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 stop web", "Ask web to stop (SIGTERM), kill it after 10 seconds"],
  ["$0 stop -t 2 web db", "Give web and db two seconds each, side by side"],
  ["$0 stop -a", "Stop every running container"],
];

export async function handler(a: { CONTAINER?: string[]; time: number; all: boolean; ignore: boolean }): Promise<number> {
  const names = namesOrAll("stop", a);
  if (!Number.isInteger(a.time) || a.time < 0) throw new RlError(`invalid --time ${a.time}: use whole seconds, 0 or more`);
  const p = paths();
  const d = await new Session(p).swept();
  // --all: also those that ended and wait out the back-off before their restart policy starts them again.
  const targets = a.all ? listContainers(d).filter((c) => c.state === "running" || restartPending(p, c)).map((c) => ({ name: c.id, c })) : [];
  for (const name of names) {
    try {
      targets.push({ name, c: requireContainer(d, name) });
    } catch (err) {
      if (!a.ignore) throw err;
    }
  }
  // Side by side, as podman: each has its own timeout.
  await Promise.all(targets.map(async ({ name, c }) => {
    await stopContainer(d, p, c, a.time);
    console.log(name);
  }));
  return 0;
}
