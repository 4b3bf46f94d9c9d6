import { existsSync, openSync, readdirSync, renameSync } from "node:fs";
import { closeFd, lchownat, lstatType, O, openat2, RESOLVE, S_IFDIR } from "../sys/libc";
import { flattenLayers } from "./flatten";
import { mergedDirAt } from "./merged-tree";
import { removeTree } from "./remove-tree";

/**
 * Fill the empty volume directory `dest` with the image's content at `rel` (owners, modes, times kept),
 * as docker fills a new volume. Runs as root of the user namespace. The copy is made beside `dest` (a
 * directory no container sees) and renamed over it; where the image has no directory at `rel` (nothing,
 * or a symlink), nothing is copied. False when nothing was.
 */
export function fillVolume(layerDirsTopFirst: string[], rel: string, dest: string): boolean {
  const dirs = mergedDirAt(layerDirsTopFirst, rel);
  if (!dirs) return false;
  const tmp = `${dest}.fill`;
  if (existsSync(tmp)) removeTree(tmp);
  try {
    flattenLayers([...dirs].reverse(), tmp);
    renameSync(tmp, dest);
  } catch (err) {
    removeTree(tmp);
    // Another container filled or wrote into it meanwhile: its content stays.
    if ((err as NodeJS.ErrnoException).code === "ENOTEMPTY" || (err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  }
  return true;
}

const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;
const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS | RESOLVE.NO_XDEV;

/**
 * chown -R of `dir` to uid:gid (`:U`), through descriptors: every entry is changed relative to its
 * directory's descriptor without following links, and a directory is entered only beneath its parent's,
 * so a container that swaps a directory for a symlink meanwhile cannot lead the walk out of the volume.
 */
export function chownTree(dir: string, uid: number, gid: number): void {
  const root = openSync(dir, DIR_FLAGS);
  try {
    chownBeneath(root, uid, gid);
    lchownat(root, ".", uid, gid);
  } finally {
    closeFd(root);
  }
}

function chownBeneath(fd: number, uid: number, gid: number): void {
  for (const name of readdirSync(`/proc/self/fd/${fd}`)) {
    const t = lstatType(fd, name);
    if (!t) continue;
    if (t.type === S_IFDIR) {
      const child = openat2(fd, name, DIR_FLAGS, 0, BENEATH);
      try {
        chownBeneath(child, uid, gid);
      } finally {
        closeFd(child);
      }
    }
    lchownat(fd, name, uid, gid);
  }
}
