import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { removeTree } from "../rootfs/userns-worker";
import { runWorkerJob } from "../rootfs/worker-job";

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
  const left: string[] = [];
  for (const n of stale) {
    try {
      removeTree(join(p.tmp, n));
    } catch {
      left.push(join(p.tmp, n));
    }
  }
  if (left.length) await runWorkerJob(`${tmpName(p, "clean")}.json`, { kind: "remove", paths: left });
}
