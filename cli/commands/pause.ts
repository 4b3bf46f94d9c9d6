import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { pauseContainers } from "../lib/runtime/pause-container";
import { Session } from "../lib/engine/session";
import { namesOrAll } from "./names-or-all";

export const command = "pause [CONTAINER..]";
export const describe = "Pause every process of running containers (the cgroup v2 freezer)";

export const POSITIONALS = { CONTAINER: "container names or ids (each must have a cgroup of its own: started with a limit flag of rl run)" };
export const OPTIONS = { all: { alias: "a", type: "boolean", default: false, describe: "Pause every running container" } } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 pause web", "Stop web's processes where they are; rl ps -a shows it Paused, rl unpause web resumes it"],
  ["$0 rm -f web", "A paused container can still be removed (killed) at once"],
];

export async function handler(a: { CONTAINER?: string[]; all: boolean }): Promise<number> {
  const names = namesOrAll("pause", a);
  const s = new Session();
  await pauseContainers(await s.swept(), s.p, names, a.all, true);
  return 0;
}
