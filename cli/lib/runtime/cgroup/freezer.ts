import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../../errors";

// The cgroup v2 freezer: cgroup.freeze asks, cgroup.events says when every process of the cgroup (and
// of its children) has stopped ("frozen 1"). A fatal signal still kills a frozen process.

const FREEZE_TIMEOUT_MS = 10_000;

/** Whether the cgroup is frozen now, as the kernel says (false when it is gone). */
export function cgroupFrozen(dir: string): boolean {
  try {
    return /^frozen 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));
  } catch {
    return false;
  }
}

function writeFreeze(dir: string, value: "0" | "1"): void {
  try {
    writeFileSync(join(dir, "cgroup.freeze"), value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new RlError(`${dir} has no cgroup.freeze: the cgroup v2 freezer needs Linux 5.2 or later`);
    throw new RlError(`cannot write ${join(dir, "cgroup.freeze")}: ${e.message}`, 125, e.code);
  }
}

/**
 * Freeze the cgroup's processes and wait until they all have stopped. One that does not stop in time
 * (waiting in the kernel, e.g. on a slow disk) leaves the cgroup thawed and an error.
 */
export async function freezeCgroup(dir: string): Promise<void> {
  writeFreeze(dir, "1");
  for (let wait = 1, deadline = Date.now() + FREEZE_TIMEOUT_MS; !cgroupFrozen(dir); wait = Math.min(wait * 2, 50)) {
    if (Date.now() > deadline) {
      writeFreeze(dir, "0");
      throw new RlError(`its processes did not all stop within ${FREEZE_TIMEOUT_MS / 1000}s (one may be waiting in the kernel, on a disk or a FUSE file system); it runs on`);
    }
    await Bun.sleep(wait);
  }
}

/** Thaw the cgroup (at once: the kernel resumes every process when cgroup.freeze is 0). */
export function thawCgroup(dir: string): void {
  writeFreeze(dir, "0");
}
