import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { tryFlock } from "../sys/libc";

/**
 * Run `fn` holding flock(2) locks on files under locks/: the kernel drops them when the process dies,
 * so a killed rl never leaves the store locked. Names are taken in sorted order (no deadlock between
 * two processes that want overlapping sets).
 *
 * - "store" shared: storing an image; "store" exclusive: garbage collection and reset, which must not
 *   delete a layer or blob another process is about to record.
 * - "layer-<chain hex>" exclusive: unpacking that layer, so two processes do not unpack it twice.
 */
export async function withLocks<T>(p: Paths, locks: { name: string; exclusive: boolean }[], fn: () => Promise<T>): Promise<T> {
  const dir = join(p.data, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fds: number[] = [];
  try {
    for (const l of [...locks].sort((a, b) => a.name.localeCompare(b.name))) {
      const fd = openSync(join(dir, l.name), "a", 0o600);
      fds.push(fd);
      for (let wait = 5; !tryFlock(fd, l.exclusive); wait = Math.min(wait * 2, 100)) await Bun.sleep(wait);
    }
    return await fn();
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

export const STORE_SHARED = { name: "store", exclusive: false };
export const STORE_EXCLUSIVE = { name: "store", exclusive: true };
