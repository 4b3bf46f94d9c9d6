import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { listContainers, paths, requireContainer } from "../lib/index";
import { processRuns } from "../lib/store/container-state";
import { RlError } from "../lib/errors";
import { killPid } from "../lib/sys/executor";
import { parseSignal } from "../lib/sys/signals";
import { thawContainer } from "../lib/runtime/cgroup/container-cgroup";
import { Session } from "../lib/engine/session";

export const command = "kill [CONTAINER..]";
export const describe = "Send a signal to running containers (default SIGKILL)";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  signal: { alias: "s", type: "string", default: "KILL", describe: "The signal: a name (TERM, SIGHUP) or a number" },
  all: { alias: "a", type: "boolean", default: false, describe: "Signal every running container" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 kill web", "Kill web at once"],
  ["$0 kill -s HUP web", "Send SIGHUP to web's first process (a server's reload)"],
];

export async function handler(a: { CONTAINER?: string[]; signal: string; all: boolean }): Promise<number> {
  const names = a.CONTAINER ?? [];
  if (!a.all && !names.length) throw new RlError("kill needs at least one container, or --all");
  const signal = parseSignal(a.signal);
  const p = paths();
  const d = await new Session(p).swept();
  const targets = a.all ? listContainers(d).filter(processRuns).map((c) => ({ name: c.id, c })) : names.map((name) => ({ name, c: requireContainer(d, name) }));
  // Every one is checked before any is signalled.
  for (const { name, c } of targets) {
    if (!processRuns(c)) throw new RlError(`can only kill running containers: ${name} is ${c.state === "running" ? "exited" : c.state}`);
  }
  for (const { name, c } of targets) {
    const r = killPid(c.pid!, signal);
    // ESRCH: it ended meanwhile, which is what a kill asks for.
    if (r < 0 && r !== -3) throw new RlError(`cannot signal container ${name}: errno ${-r}`);
    // A paused container dies of SIGKILL all the same; its cgroup must not stay frozen. (Other signals wait for unpause.)
    if (signal === 9) thawContainer(d, c.id);
    console.log(name);
  }
  return 0;
}
