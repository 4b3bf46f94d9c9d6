import type { Example } from "../verb";
import { RlError } from "../lib/errors";
import { parseLimits } from "../lib/runtime/cgroup/limits";
import { updateContainers } from "../lib/runtime/update-container";
import { LIMIT_OPTIONS, limitFlags } from "./limit-flags";
import { Session } from "../lib/engine/session";

export const command = "update <CONTAINER..>";
export const describe = "Change the resource limits of running containers";

export const OPTIONS = LIMIT_OPTIONS;
export const POSITIONALS = { CONTAINER: "container names or ids (each must have a cgroup of its own: started with a limit flag of rl run)" };
export const EXAMPLES: Example[] = [
  ["$0 update --memory 256m --cpus 1.5 web", "New memory and CPU limits for web, now; rl inspect web shows them (HostConfig)"],
  ["$0 update --pids-limit 200 web db", "The same pids limit for two containers"],
  ["$0 update --device-write-bps /dev/sda:10mb web", "Slow web's writes to a disk"],
];

export async function handler(a: Record<string, unknown> & { CONTAINER: string[] }): Promise<number> {
  const limits = parseLimits(limitFlags(a));
  if (!limits.writes.length) throw new RlError("rl update needs a resource flag, e.g. --memory 256m or --cpus 1 (see rl update --help)");
  const s = new Session();
  await updateContainers(await s.swept(), s.p, a.CONTAINER, limits);
  return 0;
}
