import { closeSync, fstatSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
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
  const held: { fd: number; path: string; exclusive: boolean }[] = [];
  try {
    for (const l of [...locks].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, l.name);
      held.push({ fd: await lockFile(path, l.exclusive), path, exclusive: l.exclusive });
    }
    return await fn();
  } finally {
    // An exclusive lock's file goes with it (no litter of per-layer lock files); lockFile() re-checks
    // that the file it locked is still the one at the path, so a waiter never keeps an unlinked one.
    for (const h of held.reverse()) {
      if (h.exclusive) rmSync(h.path, { force: true });
      closeSync(h.fd);
    }
  }
}

async function lockFile(path: string, exclusive: boolean): Promise<number> {
  for (;;) {
    const fd = openSync(path, "a", 0o600);
    for (let wait = 5; !tryFlock(fd, exclusive); wait = Math.min(wait * 2, 100)) await Bun.sleep(wait);
    let same = false;
    try {
      same = statSync(path).ino === fstatSync(fd).ino;
    } catch {}
    if (same) return fd;
    closeSync(fd);
  }
}

export const STORE_SHARED = { name: "store", exclusive: false };
export const STORE_EXCLUSIVE = { name: "store", exclusive: true };
