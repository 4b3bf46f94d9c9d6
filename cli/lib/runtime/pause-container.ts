import { RlError, wrap } from "../errors";
import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { findContainer, listContainers } from "../store/containers-table";
import { pausedContainers, runningContainerCgroup } from "./cgroup/container-cgroup";
import { cgroupFrozen, freezeCgroup, thawCgroup } from "./cgroup/freezer";
import { setHelpersAside, takeHelpersBack } from "./cgroup/mount-helpers";

/**
 * `rl pause` and `rl unpause`: every container is looked at first (found, running, with a cgroup of its
 * own, not already in the state asked), one line on the first that is not; then each is frozen (waiting
 * until all of its processes have stopped) or thawed, and its id printed. `all`: every running container
 * not paused (pause), every paused one (unpause).
 */
export async function pauseContainers(d: Database, p: Paths, names: string[], all: boolean, pause: boolean): Promise<void> {
  const verb = pause ? "pause" : "unpause";
  const paused = all ? pausedContainers(d) : new Set<string>();
  if (all) names = pause ? listContainers(d).filter((c) => c.state === "running" && !paused.has(c.id)).map((c) => c.name) : [...paused];
  const found = names.map((name) => {
    const c = findContainer(d, name);
    if (!c) throw new RlError(`no such container: ${name}`);
    const dir = runningContainerCgroup(d, c, `${verb} container ${name}`, "so no cgroup v2 freezer");
    if (pause && cgroupFrozen(dir)) throw new RlError(`cannot pause container ${name}: it is already paused`);
    if (!pause && !cgroupFrozen(dir)) throw new RlError(`cannot unpause container ${name}: it is not paused`);
    return { id: c.id, name, dir };
  });
  for (const f of found) {
    try {
      if (pause) await freezeWithoutHelpers(f.dir);
      else {
        thawCgroup(f.dir);
        takeHelpersBack(f.dir);
      }
    } catch (err) {
      throw wrap(`${verb} container ${f.name}`, err);
    }
    console.log(f.id);
  }
}

/** Freeze the container's cgroup, its mount helpers (fuse-overlayfs) set aside first: they serve its files. */
async function freezeWithoutHelpers(dir: string): Promise<void> {
  setHelpersAside(dir);
  try {
    await freezeCgroup(dir);
  } catch (err) {
    takeHelpersBack(dir);
    throw err;
  }
}
