import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { endStaleHelpers } from "../network/store";
import { recordedProcessAlive } from "../store/container-state";
import { claimForRemoval, containerRecord, markEndedWhileClaimed, type ContainerRow } from "../store/containers-table";
import { readExitFile } from "../store/exit-file";
import { pidStartTime } from "../sys/pid-start-time";
import { pauseForTests } from "../test-pause";
import { recordOomKill, removeContainerCgroup } from "./cgroup/container-cgroup";
import { removeContainer } from "./remove-container";

/**
 * Record the end of a container whose process is gone (`r` as read): its helpers and cgroup go, then it
 * is exited with the code its monitor wrote, or as killed; removed if started with --rm.
 */
export async function finishEnded(d: Database, p: Paths, r: ContainerRow): Promise<void> {
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
