import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { cgroupInfo } from "../host/cgroups";
import { loadNetwork } from "../network/store";
import { findContainer, listContainers, type ContainerRow } from "../store/containers-table";
import { containerCgroupDir, pausedContainers, runningContainerCgroup } from "./cgroup/container-cgroup";
import type { StatsTarget } from "./container-stats";

function target(d: Database, r: ContainerRow): StatsTarget {
  return {
    id: r.id,
    name: r.name,
    started: r.created,
    cgroup: r.state === "running" ? containerCgroupDir(d, r.id) : null,
    pid: r.pid,
    ownNetwork: loadNetwork(d, r.id)?.config.mode !== "host",
  };
}

/**
 * The containers `rl stats` shows, listed again for each report. Named ones are checked now (found,
 * running, with a cgroup of their own: one line on the first that is not) and dropped once they end;
 * without names, the running ones (podman's: not the paused) or, with `all`, every one, those with
 * nothing to read shown as "--". Where no container can have a cgroup (this host), that is the error.
 */
export function statsTargets(d: Database, names: string[], all: boolean): () => StatsTarget[] {
  if (!names.length) {
    const host = cgroupInfo(process.getuid!());
    if (!host.ok) throw new RlError(`cannot show container stats: containers get no cgroup of their own here: ${host.reason}`);
    return () => {
      const paused = pausedContainers(d);
      return listContainers(d).filter((r) => all || (r.state === "running" && !paused.has(r.id))).map((r) => target(d, r));
    };
  }
  const ids = names.map((name) => {
    const c = findContainer(d, name);
    if (!c) throw new RlError(`no such container: ${name}`);
    runningContainerCgroup(d, c, `show the stats of container ${name}`);
    return c.id;
  });
  return () => [...new Set(ids)].map((id) => findContainer(d, id)).filter((c) => c?.state === "running").map((c) => target(d, c!));
}
