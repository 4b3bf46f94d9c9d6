import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { thawContainer } from "../runtime/cgroup/container-cgroup";
import { markRemoving, type ContainerRow } from "../store/containers-table";

/**
 * Kill a running container that rm -f or rmi -f is about to remove, recording first that it is being
 * removed: the rl that runs it, woken by the kill, tells its user why the container ended.
 */
export function killForRemoval(d: Database, p: Paths, c: ContainerRow): void {
  markRemoving(d, p, c.id);
  if (!c.pid) return;
  try {
    process.kill(c.pid, "SIGKILL");
  } catch {}
  // A paused container dies of SIGKILL too; thawed, its cgroup does not stay frozen for anything after.
  thawContainer(d, c.id);
}
