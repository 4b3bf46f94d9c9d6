import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { removePaths } from "../rootfs/worker-job";

/** Temp names in the store's tmp dir carry the pid of the rl that made them: "<kind>-<pid>-...". */
const OWNED = /^(?:unpack|blob|remove|flatten)-(\d+)-/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what killed rl processes left in the store's tmp dir (half-unpacked layers, partial blobs,
 * job files). Layers and blobs only leave tmp by rename once complete, so this never touches a
 * finished one. Unpacked files belong to subordinate ids: those are removed in a user namespace.
 */
export async function sweepTmp(p: Paths): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(p.tmp);
  } catch {
    return;
  }
  const debris = names.filter((n) => {
    const m = OWNED.exec(n);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  }).map((n) => join(p.tmp, n));
  if (debris.length) await removePaths(p.tmp, debris, "sweep");
}
