import { openSync } from "node:fs";
import { basename, dirname } from "node:path";
import { AT_FDCWD, closeFd, lchownat, lstatType, mkdirat, O, openat2, RENAME_NOREPLACE, renameat2, RESOLVE, S_IFDIR } from "../sys/libc";
import { readDirNames } from "../sys/layer-files";
import { closeLevels, openMergedDir } from "./confined-tree";
import { copyMergedTree, mergedDirMeta, sameOwner, setDirMeta } from "./copy-tree";
import { removeTree } from "./remove-tree";

const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;
const BENEATH = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS | RESOLVE.NO_XDEV;

/**
 * Fill the volume directory `dest` (empty when rl looked) with the image's content at `path` (owners,
 * modes, xattrs, times and hard links kept), as docker fills a new volume. Runs as root of the user
 * namespace. The path resolves in the image as the container's mount of it will (symlinks followed
 * inside the image, never out of it: confined-tree.ts openMergedDir). The copy is made in a directory
 * beside `dest` that no container sees, then each of its entries is renamed into `dest` without
 * replacing anything: a container that uses the volume already may write into it meanwhile, and what
 * it wrote stays. Every step goes through descriptors of the layers and of the volume's directories.
 * False when the image has no directory there.
 */
export function fillVolume(layerDirsTopFirst: string[], path: string, dest: string): boolean {
  const levels = openMergedDir(layerDirsTopFirst, path);
  if (!levels) return false;
  const tmp = `${basename(dest)}.fill`;
  let parent = -1;
  try {
    // The volume's own directory in the store: rl's, not a container's.
    parent = openat2(AT_FDCWD, dirname(dest), DIR_FLAGS, 0, 0);
    removeTree(`/proc/self/fd/${parent}/${tmp}`); // left by a fill that was killed
    mkdirat(parent, tmp, 0o700);
    const from = openat2(parent, tmp, DIR_FLAGS, 0, BENEATH);
    let to = -1;
    try {
      to = openat2(parent, basename(dest), DIR_FLAGS, 0, BENEATH);
      const meta = mergedDirMeta(levels);
      copyMergedTree(levels, from, sameOwner);
      for (const name of readDirNames(from, tmp)) {
        try {
          renameat2(from, name, to, name, RENAME_NOREPLACE);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
      }
      setDirMeta(to, meta, sameOwner, dest);
    } finally {
      closeFd(from);
      if (to >= 0) closeFd(to);
      removeTree(`/proc/self/fd/${parent}/${tmp}`);
    }
  } finally {
    if (parent >= 0) closeFd(parent);
    closeLevels(levels);
  }
  return true;
}

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
  for (const name of readDirNames(fd, "the volume")) {
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
