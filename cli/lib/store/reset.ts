import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { listContainers } from "../runtime/containers";
import { runWorkerJob } from "../rootfs/worker-job";
import { removeTree } from "../rootfs/remove-tree";
import { closeDb, openDb } from "./db";
import { STORE_EXCLUSIVE, withLocks } from "./locks";

/**
 * `system reset`: kill running containers, then remove everything in the data and runtime dirs,
 * files owned by subordinate ids too (from inside a user namespace). The dirs themselves stay, empty.
 */
export async function resetStore(p: Paths): Promise<void> {
  if (existsSync(p.db)) {
    const d = openDb(p.db);
    for (const c of listContainers(d)) {
      if (c.state === "running" && c.pid) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {}
      }
    }
    closeDb();
  }
  const entries = (dir: string) => (existsSync(dir) ? readdirSync(dir).map((n) => join(dir, n)) : []);
  await withLocks(p, [STORE_EXCLUSIVE], async () => {
    // tmp/ itself goes last: the job's own files are made there (after this list is taken).
    const keep = [join(p.data, "locks"), p.tmp];
    const paths = [...entries(p.data).filter((e) => !keep.includes(e)), ...entries(p.tmp), ...entries(p.runtime)];
    if (paths.length) await runWorkerJob(p.tmp, { kind: "remove", paths });
    removeTree(p.tmp);
  });
  removeTree(join(p.data, "locks"));
}
