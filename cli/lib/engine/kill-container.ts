import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { killPid } from "../sys/executor";
import { thawContainer } from "../runtime/cgroup/container-cgroup";
import { processRuns } from "../store/container-state";
import type { ContainerRow } from "../store/containers-table";

/** Whether `c` can be signalled: a one-line error naming it (`name`, as the user typed it) when not. */
export function checkSignallable(c: ContainerRow, name: string): void {
  if (!processRuns(c)) throw new RlError(`can only kill running containers: ${name} is ${c.state === "running" ? "exited" : c.state}`);
}

/** Send `signal` to a running container's first process. */
export function killContainer(d: Database, c: ContainerRow, name: string, signal: number): void {
  const r = killPid(c.pid!, signal);
  // ESRCH: it ended meanwhile, which is what a kill asks for.
  if (r < 0 && r !== -3) throw new RlError(`cannot signal container ${name}: errno ${-r}`);
  // A paused container dies of SIGKILL all the same; its cgroup must not stay frozen. (Other signals wait for unpause.)
  if (signal === 9) thawContainer(d, c.id);
}
