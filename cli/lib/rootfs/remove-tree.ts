import { chmodSync, fchmodSync, fstatSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { AT_REMOVEDIR, closeFd, lstatType, O, openat2, RESOLVE, S_IFDIR, unlinkat } from "../sys/libc";
import { readDirNames } from "../sys/layer-files";

/** rm -rf that also gets through directories left mode 000 (overlay's work/work). */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch {}
  const fix = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    chmodSync(p, 0o700);
    for (const n of readdirSync(p)) fix(join(p, n));
  };
  fix(path);
  rmSync(path, { recursive: true, force: true });
}

/**
 * rm -rf of the entry `name` in the directory `dirfd`, through descriptors: each directory is opened
 * beneath its parent's descriptor without following a symlink, and each entry removed relative to it,
 * so a tree whose owner renames and swaps things meanwhile (a running container's) cannot lead the
 * removal anywhere else.
 */
export function removeBeneath(dirfd: number, name: string): void {
  const t = lstatType(dirfd, name);
  if (!t) return;
  if (t.type === S_IFDIR) {
    const fd = openat2(dirfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS);
    try {
      // Its entries cannot go while it is not writable (as removeTree, for a caller that is not root).
      if ((fstatSync(fd).mode & 0o700) !== 0o700) fchmodSync(fd, 0o700);
      for (const child of readDirNames(fd, name)) removeBeneath(fd, child);
    } finally {
      closeFd(fd);
    }
  }
  unlinkat(dirfd, name, t.type === S_IFDIR ? AT_REMOVEDIR : 0);
}
