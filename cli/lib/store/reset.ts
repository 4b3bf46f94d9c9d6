import { Database } from "bun:sqlite";
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { warnOnce } from "../log";
import { processAlive } from "../sys/pid-start-time";
import { pauseForTests } from "../test-pause";
import type { Paths } from "../paths";
import { removePaths } from "../rootfs/worker-job";
import { removeTree } from "../rootfs/remove-tree";
import { runningProcesses } from "./containers-table";
import { closeDb } from "./db";
import { STORE_EXCLUSIVE, withLocks } from "./locks";
import { tmpName } from "./tmp-name";

/** Where a reset puts the store before deleting it: beside it, so that one rename takes all of it away. */
const trashOf = (p: Paths) => `${p.data}.reset-trash`;

/** Whether `path` is a directory of this user's (beside a data dir in a shared place, another user may have put something there). */
function ownDir(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isDirectory() && st.uid === process.getuid!();
  } catch {
    return false;
  }
}

/**
 * `system reset`: kill running containers, then take the whole data dir away in one rename (the store
 * is then gone: the next rl starts a new one) and delete it, files owned by subordinate ids too (from
 * inside a user namespace), and the runtime dir's contents. A reset killed midway leaves the old store
 * or a trash the next rl deletes (finishReset). Works whatever state the database is in.
 */
export async function resetStore(p: Paths): Promise<void> {
  killContainers(p);
  closeDb();
  if (!existsSync(p.data)) return removeRuntime(p, []);
  let trash: string | undefined;
  await withLocks(p, [STORE_EXCLUSIVE], async () => {
    trash = takeAway(p);
  });
  if (!trash) {
    // The data dir cannot be renamed (a mount point, or its parent is not writable): emptied in place.
    warnOnce(`${p.data} cannot be renamed: emptying it in place (a reset killed now leaves part of the store)`);
    // The database first: without it no image is listed. Only what the user owns (not a file system's lost+found).
    const entries = readdirSync(p.data)
      .filter((n) => n !== "locks" && lstatSync(join(p.data, n)).uid === process.getuid!())
      .sort((a, b) => Number(b.startsWith("rl.db")) - Number(a.startsWith("rl.db")))
      .map((n) => join(p.data, n));
    await withLocks(p, [STORE_EXCLUSIVE], () => removeRuntime(p, entries));
    removeTree(join(p.data, "locks"));
    return;
  }
  pauseForTests("RL_TEST_PAUSE_BEFORE_RESET_REMOVE");
  await removeRuntime(p, [trash]);
}

/** Rename the data dir to its trash name (a trash a killed reset left goes inside it first); undefined when it cannot be renamed. */
function takeAway(p: Paths): string | undefined {
  const trash = trashOf(p);
  for (;;) {
    if (existsSync(trash) && !ownDir(trash)) return undefined;
    if (existsSync(trash)) {
      mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
      try {
        renameSync(trash, tmpName(p, "reset"));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
    try {
      renameSync(p.data, trash);
      return trash;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") continue; // another reset's trash appeared meanwhile
      if (code === "EBUSY" || code === "EACCES" || code === "EPERM" || code === "EXDEV") return undefined;
      throw err;
    }
  }
}

/** Remove `paths` and the runtime dir's contents (a job file for the user-namespace removal goes in the runtime dir: the user's own). */
async function removeRuntime(p: Paths, paths: string[]): Promise<void> {
  mkdirSync(p.runtime, { recursive: true, mode: 0o700 });
  const all = [...paths, ...readdirSync(p.runtime).map((n) => join(p.runtime, n))];
  if (all.length) await removePaths(p.runtime, all);
}

/** Kill the containers the store knows to be running; a database that cannot be read (corrupt) knows none. */
function killContainers(p: Paths): void {
  if (!existsSync(p.db)) return;
  let running: { pid: number; pid_start: string }[] = [];
  let d: Database | undefined;
  try {
    d = new Database(p.db, { readonly: true });
    running = runningProcesses(d);
  } catch (err) {
    warnOnce(`cannot read the store's containers to stop them (${(err as Error).message}): removing the store anyway`);
  } finally {
    d?.close();
  }
  for (const c of running) {
    try {
      if (processAlive(c.pid, c.pid_start)) process.kill(c.pid, "SIGKILL");
    } catch {}
  }
}

/**
 * Finish a reset that was killed after taking the store away: its trash is moved into this store's tmp/
 * under this process's name (one process wins the rename) and deleted; a kill then leaves it to the sweep.
 */
export async function finishReset(p: Paths): Promise<void> {
  const trash = trashOf(p);
  if (!existsSync(trash) || !ownDir(trash)) return;
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  const mine = tmpName(p, "reset");
  try {
    renameSync(trash, mine);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  await removePaths(p.tmp, [mine]);
}
