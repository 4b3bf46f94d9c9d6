import type { Database } from "bun:sqlite";
import { mkdirSync, renameSync } from "node:fs";
import type { Paths } from "../paths";
import { endStaleHelpers } from "../network/store";
import { unlockForRemoval } from "../rootfs/driver";
import { removePaths } from "../rootfs/worker-job";
import { containerDir, containerRecord, containerRunDir, deleteContainerRecord } from "../store/containers-table";
import { tmpName } from "../store/tmp-name";
import { anonymousVolumesOf, removeVolume, volumeUsers } from "../store/volumes";
import { pidStartTime } from "../sys/pid-start-time";
import { removeContainerCgroup } from "./cgroup/container-cgroup";

/**
 * Remove a container's files and record. Files the workload created as other users belong to
 * subordinate ids: those are removed from inside a user namespace.
 */
export async function removeContainer(d: Database, p: Paths, id: string, o: { volumes?: boolean } = {}): Promise<void> {
  await removePaths(p.tmp, [containerRunDir(p, id)]);
  // As layers go (store/collect.ts): out of containers/ in one rename, then the record, then the files. A
  // kill in between leaves a tmp/ entry naming the container: the sweep deletes its record too (debris.ts).
  const dir = containerDir(p, id);
  unlockForRemoval(dir);
  const aside = `${tmpName(p, "rm")}-${id}`;
  try {
    mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
    renameSync(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const anonymous = o.volumes ? anonymousVolumesOf(d, id) : [];
  // A detached container's network helpers are no rl's own to stop: they go with its record. (A
  // foreground container's rl stops its own, letting the forwarder send on what it holds.)
  if (containerRecord(d, id)?.monitor_pid) endStaleHelpers(d, p, id, pidStartTime);
  await removeContainerCgroup(d, id);
  deleteContainerRecord(d, p, id);
  await removePaths(p.tmp, [aside]);
  // With -v (and --rm): the anonymous volumes no other container uses any more.
  for (const v of anonymous) if (!volumeUsers(d, v).length) await removeVolume(d, p, v);
}
