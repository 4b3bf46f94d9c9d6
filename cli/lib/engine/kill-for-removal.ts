import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { thawContainer } from "../runtime/cgroup/container-cgroup";
import { beingCreated } from "../store/container-state";
import { claimForRemoval, findContainer, markRemoving, type ContainerRow } from "../store/containers-table";

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

/**
 * rm -f of a container that is running or that another rl is starting now (beingCreated: its recorded
 * process is that rl, never killed). One being started is claimed for removal: that rl's start finds the
 * claim, ends the container's process and says why (start-created.ts). One that started meanwhile is
 * killed as running. False when it is gone already.
 */
export function stopForRemoval(d: Database, p: Paths, c: ContainerRow): boolean {
  if (beingCreated(c) && claimForRemoval(d, p, c)) return true;
  const now = beingCreated(c) ? findContainer(d, c.id) : c;
  if (!now) return false;
  if (now.state === "running") killForRemoval(d, p, now);
  else if (beingCreated(now)) return stopForRemoval(d, p, now);
  return true;
}
