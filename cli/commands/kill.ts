import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { listContainers, paths, requireContainer } from "../lib/index";
import { processRuns } from "../lib/store/container-state";
import { RlError } from "../lib/errors";
import { parseSignal } from "../lib/sys/signals";
import { checkSignallable, killContainer } from "../lib/engine/kill-container";
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
  for (const { name, c } of targets) checkSignallable(c, name);
  for (const { name, c } of targets) {
    killContainer(d, c, name, signal);
    console.log(name);
  }
  return 0;
}
