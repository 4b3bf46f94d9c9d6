import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../../errors";

// fuse-overlayfs serves a container's root from inside the container's cgroup (it runs in the container's
// namespaces, outside its pivoted root: see rootfsOps). Frozen with the container, it would leave a
// container process that waits for one of its answers unfreezable: cgroup.events would never say frozen.
// So while a container is paused, its mount helpers wait in a cgroup beside its own.

/** The cgroup beside the container's `dir` where its mount helpers wait while it is paused. */
export const helpersCgroup = (dir: string) => `${dir}.helpers`;

const pidsIn = (dir: string) => readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);

function move(pid: number, to: string): void {
  try {
    writeFileSync(join(to, "cgroup.procs"), String(pid));
  } catch (err) {
    // Gone meanwhile: nothing to move.
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw new RlError(`cannot move process ${pid} into ${to}: ${(err as Error).message}`);
  }
}

/**
 * The processes of the container's cgroup whose root is rl's own: the mount helpers rl started there. A
 * process of the container cannot get out of its pivoted root, so it cannot pass for one.
 */
export function mountHelpers(dir: string): number[] {
  const root = statSync("/");
  return pidsIn(dir).filter((pid) => {
    try {
      const st = statSync(`/proc/${pid}/root`);
      return st.dev === root.dev && st.ino === root.ino;
    } catch {
      return false;
    }
  });
}

/** Before a freeze: the container's mount helpers into the cgroup beside it. */
export function setHelpersAside(dir: string): void {
  const pids = mountHelpers(dir);
  if (!pids.length) return;
  const aside = helpersCgroup(dir);
  if (!existsSync(aside)) mkdirSync(aside);
  for (const pid of pids) move(pid, aside);
}

/** After a thaw: the mount helpers back into the container's cgroup, and the cgroup beside it removed. */
export function takeHelpersBack(dir: string): void {
  const aside = helpersCgroup(dir);
  if (!existsSync(aside)) return;
  for (const pid of pidsIn(aside)) move(pid, dir);
  rmdirSync(aside);
}
