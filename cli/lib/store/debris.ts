import type { Database } from "bun:sqlite";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { debug } from "../log";
import { removePaths } from "../rootfs/worker-job";
import { deleteContainerRecord } from "./containers-table";
import { isDiskFull, transaction } from "./db";
import { ownProcess, processAlive } from "../sys/pid-start-time";
import { finishReset } from "./reset";
import { dropDeadWrites } from "./store-write";
import { tmpOwner } from "./tmp-name";

/** Whether a temp entry's owner is gone (a name without a start time: whether its pid is). */
function ownerGone(name: string): boolean {
  const o = tmpOwner(name);
  if (!o || !(o.pid > 0)) return false;
  const own = ownProcess();
  if (o.pid === own.pid && (o.start === undefined || o.start === own.start)) return false;
  return o.start === undefined ? !existsSync(`/proc/${o.pid}`) : !processAlive(o.pid, o.start);
}

/**
 * Remove what killed rl processes left: a reset's trash (reset.ts), the layers and blobs of store writes they never committed
 * (see store-write.ts), and their entries in tmp/ (half-unpacked layers, partial blobs, job files).
 * What live processes own is kept. Unpacked files belong to subordinate ids: when a plain removal
 * fails, the rest is removed from inside a user namespace.
 */
export async function cleanDebris(d: Database, p: Paths): Promise<void> {
  debug("store: clearing debris");
  try {
    await finishReset(p);
    await dropDeadWrites(d, p);
    let names: string[];
    try {
      names = readdirSync(p.tmp);
    } catch {
      return;
    }
    const stale = names.filter(ownerGone);
    if (!stale.length) return;
    // A container whose rm was killed after its files left containers/: its record goes too.
    const removed = stale.flatMap((n) => /^rm-.*-([0-9a-f]{64})$/.exec(n)?.[1] ?? []);
    if (removed.length) transaction(d, p.db, () => removed.forEach((id) => deleteContainerRecord(d, p, id)));
    await removePaths(p.tmp, stale.map((n) => join(p.tmp, n)));
  } catch (err) {
    // On a full disk the command goes on (it may be the one that frees space); a later one cleans up.
    if (!isDiskFull(err)) throw err;
    debug(`store: debris left for later: ${(err as Error).message}`);
  }
}
