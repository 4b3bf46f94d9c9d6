import type { Database } from "bun:sqlite";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { debug } from "../log";
import { endStaleHelpers } from "../network/store";
import { removePaths } from "../rootfs/worker-job";
import { abandoned, recordedProcessAlive } from "../store/container-state";
import { claimForRemoval, containerIds, containerRecord, markEndedWhileClaimed, unfinishedContainers, type ContainerRow } from "../store/containers-table";
import { isDiskFull } from "../store/db";
import { readExitFile } from "../store/exit-file";
import { pidStartTime } from "../sys/pid-start-time";
import { pauseForTests } from "../test-pause";
import { recordOomKill, removeContainerCgroup } from "./cgroup/container-cgroup";
import { removeContainer } from "./remove-container";

/**
 * Containers recorded as running whose process is gone (rl was killed): mark them exited, and remove
 * those started with --rm.
 */
export async function sweepContainers(d: Database, p: Paths): Promise<void> {
  for (const r of unfinishedContainers(d)) {
    if (!abandoned(r)) continue;
    try {
      await finishEnded(d, p, r);
    } catch (err) {
      // On a full disk the command goes on (listContainers shows the container as killed); a later sweep records it.
      if (!isDiskFull(err)) throw err;
      debug(`sweep: container ${r.id.slice(0, 12)} left for later: ${(err as Error).message}`);
    }
  }
  await removeUnrecorded(d, p);
}

/**
 * Record the end of a container whose process is gone (`r` as read): its helpers and cgroup go, then it
 * is exited with the code its monitor wrote, or as killed; removed if started with --rm.
 */
async function finishEnded(d: Database, p: Paths, r: ContainerRow): Promise<void> {
  // The row was read before: its rl may have recorded it running or exited since, and ended. Act only
  // if the record is still the one judged ended (the rl's own updates win).
  if (!claimForRemoval(d, p, r)) return;
  endStaleHelpers(d, p, r.id, pidStartTime);
  recordOomKill(d, p, r.id);
  await removeContainerCgroup(d, r.id);
  if (r.auto_remove || r.state === "created") return removeContainer(d, p, r.id, { volumes: true });
  markEndedWhileClaimed(d, p, r.id, readExitFile(p, r.id) ?? { code: 137, finished: Date.now() });
}

/**
 * A detached container's exit command (`rl __cleanup ID`, run by its monitor once the container ended
 * and the exit file is written): record its end as the sweep would, now.
 */
export async function cleanupDetached(d: Database, p: Paths, id: string): Promise<void> {
  pauseForTests("RL_TEST_PAUSE_BEFORE_CLEANUP");
  const r = containerRecord(d, id);
  if (!r || r.state !== "running" || recordedProcessAlive(r)) return;
  await finishEnded(d, p, r);
}

/**
 * Remove the store's container directories that have no record. A record is committed before its
 * container's directory is made and deleted after it is removed, so these are what a power loss left:
 * it can take back a record committed without a sync (transaction's `transient`). (The runtime dirs are
 * not looked at: several stores may share that parent, and a power loss empties it anyway, a tmpfs.)
 */
async function removeUnrecorded(d: Database, p: Paths): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(p.containers);
  } catch {
    return;
  }
  if (!names.length) return;
  const known = containerIds(d);
  const unrecorded = names.filter((n) => !known.has(n) && CONTAINER_ID.test(n)).map((n) => join(p.containers, n));
  if (unrecorded.length) await removePaths(p.tmp, unrecorded);
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
