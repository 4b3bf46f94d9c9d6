import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { listContainers, paths, requireContainer } from "../lib/index";
import { processRuns } from "../lib/store/container-state";
import { restartContainer } from "../lib/engine/start-container";
import { RlError } from "../lib/errors";
import { Session } from "../lib/engine/session";

export const command = "restart [CONTAINER..]";
export const describe = "Stop containers (if they run) and start them again in the background";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  time: { alias: "t", type: "number", default: 10, describe: "Seconds to wait after the stop signal before SIGKILL" },
  all: { alias: "a", type: "boolean", default: false, describe: "Restart every container" },
  running: { type: "boolean", default: false, describe: "With --all: only the running ones" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 restart web", "Stop web (SIGTERM, SIGKILL after 10 s) and start it again"],
  ["$0 restart -a --running", "Restart every running container"],
];

export async function handler(a: { CONTAINER?: string[]; time: number; all: boolean; running: boolean }): Promise<number> {
  const names = a.CONTAINER ?? [];
  if (!a.all && !names.length) throw new RlError("restart needs at least one container, or --all");
  if (!Number.isInteger(a.time) || a.time < 0) throw new RlError(`invalid --time ${a.time}: use whole seconds, 0 or more`);
  const p = paths();
  const session = new Session(p);
  const d = await session.swept();
  const targets = a.all ? listContainers(d).filter((c) => !a.running || processRuns(c)).map((c) => ({ name: c.id, c })) : names.map((name) => ({ name, c: requireContainer(d, name) }));
  for (const { name, c } of targets) {
    await restartContainer(session, c, a.time);
    console.log(name);
  }
  return 0;
}
