import { closeSync, fstatSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { tryFlock } from "../sys/libc";

/**
 * Run `fn` holding flock(2) locks on files under locks/: the kernel drops them when the process dies,
 * so a killed rl never leaves the store locked. Names are taken in sorted order (no deadlock between
 * two processes that want overlapping sets).
 *
 * - "store" shared: a store write (store-write.ts), from its first look at the store to its commit;
 *   "store" exclusive: garbage collection, undoing a failed write and removing a killed one's debris,
 *   which must not delete a layer or blob another process is about to record.
 * - "layer-<chain hex>" exclusive: unpacking that layer, so two processes do not unpack it twice.
 */
export async function withLocks<T>(p: Paths, locks: Lock[], fn: () => Promise<T>): Promise<T> {
  return (await holding(p, locks, true, fn))!.value;
}

/** withLocks without waiting: `fn` runs only when every lock is free now; else undefined. */
export function tryWithLocks<T>(p: Paths, locks: Lock[], fn: () => Promise<T>): Promise<{ value: T } | undefined> {
  return holding(p, locks, false, fn);
}

/** `keep`: the lock's file stays after an exclusive hold (the store lock, taken by every store write). */
type Lock = { name: string; exclusive: boolean; keep?: boolean };

async function holding<T>(p: Paths, locks: Lock[], wait: boolean, fn: () => Promise<T>): Promise<{ value: T } | undefined> {
  const dir = join(p.data, "locks");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const held: { fd: number; path: string; remove: boolean }[] = [];
  try {
    for (const l of [...locks].sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, l.name);
      const fd = await lockFile(path, l.exclusive, wait);
      if (fd === undefined) return undefined;
      held.push({ fd, path, remove: l.exclusive && !l.keep });
    }
    return { value: await fn() };
  } finally {
    // An exclusive lock's file goes with it (no litter of per-layer lock files); lockFile() re-checks
    // that the file it locked is still the one at the path, so a waiter never keeps an unlinked one.
    for (const h of held.reverse()) {
      if (h.remove) rmSync(h.path, { force: true });
      closeSync(h.fd);
    }
  }
}

async function lockFile(path: string, exclusive: boolean, wait: boolean): Promise<number | undefined> {
  for (;;) {
    const fd = openSync(path, "a", 0o600);
    for (let delay = 5; !tryFlock(fd, exclusive); delay = Math.min(delay * 2, 100)) {
      if (!wait) {
        closeSync(fd);
        return undefined;
      }
      await Bun.sleep(delay);
    }
    let same = false;
    try {
      same = statSync(path).ino === fstatSync(fd).ino;
    } catch {}
    if (same) return fd;
    closeSync(fd);
  }
}

export const STORE_SHARED = { name: "store", exclusive: false };
export const STORE_EXCLUSIVE = { name: "store", exclusive: true, keep: true };
