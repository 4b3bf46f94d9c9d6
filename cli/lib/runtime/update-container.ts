import { RlError, wrap } from "../errors";
import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { withLocks } from "../store/locks";
import { findContainer } from "../store/containers-table";
import { readSpec, writeSpec } from "./container-spec";
import { runningContainerCgroup, updateCgroupLimits } from "./cgroup/container-cgroup";
import type { Limits } from "./cgroup/limits";
import { mergeResources } from "./cgroup/resources";

/**
 * `rl update`: new limits for running containers, written to each one's cgroup as `rl run` writes them,
 * then recorded in its runtime spec (what `rl inspect` shows). Every container is looked at first (found,
 * running, with a cgroup of its own, the limits consistent with its others), one line on the first that
 * is not. A lock per container keeps two updates from recording one over the other.
 */
export async function updateContainers(d: Database, p: Paths, names: string[], limits: Limits): Promise<void> {
  const found = names.map((name) => {
    const c = findContainer(d, name);
    if (!c) throw new RlError(`no such container: ${name}`);
    const dir = runningContainerCgroup(d, c, `update container ${name}`);
    mergeResources(readSpec(p, c.id)?.linux.resources ?? {}, limits.resources);
    return { id: c.id, name, dir };
  });
  for (const f of found) {
    await withLocks(p, [{ name: `container-${f.id}`, exclusive: true }], async () => {
      const spec = readSpec(p, f.id);
      try {
        const resources = mergeResources(spec?.linux.resources ?? {}, limits.resources);
        updateCgroupLimits(f.dir, limits);
        if (spec) writeSpec(p, f.id, { ...spec, linux: { ...spec.linux, resources } });
      } catch (err) {
        throw wrap(`update container ${f.name}`, err);
      }
    });
    console.log(f.id);
  }
}
