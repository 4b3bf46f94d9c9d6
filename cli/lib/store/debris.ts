import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { removePaths } from "../rootfs/worker-job";

/** Temp entries are named KIND-PID-...: the pid of the rl process that owns them. */
export function tmpName(p: Paths, kind: string): string {
  return join(p.tmp, `${kind}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
}

function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/**
 * Remove what killed rl processes left in tmp/ (half-unpacked layers, partial blobs, job files).
 * Entries of live processes are kept. Unpacked files belong to subordinate ids: when a plain removal
 * fails, the rest is removed from inside a user namespace.
 */
export async function cleanDebris(p: Paths): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(p.tmp);
  } catch {
    return;
  }
  const stale = names.filter((n) => {
    const pid = Number(/^[a-z]+-(\d+)-/.exec(n)?.[1]);
    return pid > 0 && pid !== process.pid && !alive(pid);
  });
  if (stale.length) await removePaths(p.tmp, stale.map((n) => join(p.tmp, n)), "clean");
}
