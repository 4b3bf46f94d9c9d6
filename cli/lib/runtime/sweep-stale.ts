import type { Database } from "bun:sqlite";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { debug } from "../log";
import { abandoned } from "../store/container-state";
import { containerIds, unfinishedContainers } from "../store/containers-table";
import { isDiskFull } from "../store/db";

/**
 * Containers recorded as running whose process is gone (rl was killed): mark them exited, and remove
 * those started with --rm. What that takes is loaded only when there is one (most commands find none).
 */
export async function sweepContainers(d: Database, p: Paths): Promise<void> {
  for (const r of unfinishedContainers(d)) {
    if (!abandoned(r)) continue;
    try {
      const { finishEnded } = await import("./finish-ended");
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
  if (unrecorded.length) await (await import("../rootfs/worker-job")).removePaths(p.tmp, unrecorded);
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
