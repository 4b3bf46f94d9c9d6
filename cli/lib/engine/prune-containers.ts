import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { removeContainer } from "../runtime/remove-container";
import { beingCreated } from "../store/container-state";
import { claimForRemoval, listContainers, type ContainerRow } from "../store/containers-table";

/**
 * Remove every stopped container (exited, or created by an rl that is gone) that `matches`, and return
 * their ids. Each is claimed first, as the sweep claims one, so a container that moved on meanwhile
 * (removed, started) stays.
 */
export async function pruneContainers(d: Database, p: Paths, matches: (c: ContainerRow) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const c of listContainers(d)) {
    const stopped = c.state === "exited" || (c.state === "created" && !beingCreated(c));
    if (!stopped || !matches(c) || !claimForRemoval(d, p, c)) continue;
    await removeContainer(d, p, c.id);
    removed.push(c.id);
  }
  return removed;
}
