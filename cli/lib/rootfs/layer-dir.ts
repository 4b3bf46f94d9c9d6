import { AT_FDCWD, closeFd, lstatType, mkdirat, O, openat2, RESOLVE, S_IFCHR, S_IFDIR } from "../sys/libc";
import type { Existing } from "../../../core-as/index";
import { removeBeneath } from "./remove-tree";

export class UnsafePathError extends Error {}

/** Never follow a symlink, never leave the layer directory, whatever the path says. */
const STRICT = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;
const OPEN_DIRS = 8;

/**
 * A layer directory being unpacked, reached only through file descriptors: every directory is opened
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) from the layer's own descriptor, and every
 * create, write or metadata change names a single component relative to such a descriptor. So no
 * entry can reach outside the layer: not by "..", not by an absolute name, not through a symlink
 * (made earlier in the layer or not), and a directory replaced meanwhile cannot be written through.
 */
export class LayerDir {
  readonly rootFd: number;
  /**
   * The directories opened last, most recent last: consecutive entries usually share a parent. A
   * descriptor from dir() stays valid until OPEN_DIRS other directories have been asked for, so a
   * caller may hold two at once (an entry's parent and its hardlink target's).
   */
  private readonly open = new Map<string, number>();

  /** `root`: the directory's path, or a descriptor of it that the LayerDir takes over (and closes). */
  constructor(root: string | number) {
    this.rootFd = typeof root === "number" ? root : openat2(AT_FDCWD, root, DIR_FLAGS, 0, 0);
  }

  /**
   * A descriptor for the directory `rel` ("" is the layer itself), creating missing directories
   * (0755, as tar does) when `create`. The descriptor stays owned by this object. Throws
   * UnsafePathError when a component is a symlink or not a directory.
   */
  dir(rel: string, create: boolean): number {
    if (rel === "") return this.rootFd;
    const cached = this.open.get(rel);
    if (cached !== undefined) {
      this.open.delete(rel);
      this.open.set(rel, cached);
      return cached;
    }
    let fd: number;
    try {
      fd = openat2(this.rootFd, rel, DIR_FLAGS, 0, STRICT);
    } catch {
      fd = this.walk(rel, create);
    }
    this.open.set(rel, fd);
    if (this.open.size > OPEN_DIRS) {
      const [oldest, oldFd] = this.open.entries().next().value!;
      this.open.delete(oldest);
      closeFd(oldFd);
    }
    return fd;
  }

  /** Opens `rel` one component at a time, creating what is missing, to say what is in the way. */
  private walk(rel: string, create: boolean): number {
    const parts = rel.split("/");
    let fd = this.rootFd;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const here = parts.slice(0, i + 1).join("/");
      let t = lstatType(fd, name);
      if (!t && create) {
        mkdirat(fd, name, 0o755);
        t = lstatType(fd, name);
      }
      if (!t) {
        if (fd !== this.rootFd) closeFd(fd);
        throw new UnsafePathError(`${here} does not exist`);
      }
      if (t.type !== S_IFDIR) {
        if (fd !== this.rootFd) closeFd(fd);
        throw new UnsafePathError(t.type === 0o120000 ? `it goes through the symlink ${here}` : `it goes through ${here}, which is not a directory`);
      }
      const next = openat2(fd, name, DIR_FLAGS, 0, STRICT);
      if (fd !== this.rootFd) closeFd(fd);
      fd = next;
    }
    return fd;
  }

  /** What exists at `name` in the directory `dirfd` (a whiteout is a char 0/0 device, unless the tree is `plain`: no layer). */
  existing(dirfd: number, name: string, plain = false): Existing {
    const t = lstatType(dirfd, name);
    if (!t) return "none";
    if (t.type === S_IFDIR) return "dir";
    if (!plain && t.type === S_IFCHR && t.rdevMajor === 0 && t.rdevMinor === 0) return "whiteout";
    return "other";
  }

  /** What exists at `rel`, without creating anything; a path through a non-directory has nothing. */
  existingAt(parent: string, name: string, plain = false): Existing {
    let fd: number;
    try {
      fd = this.dir(parent, false);
    } catch {
      return "none";
    }
    return this.existing(fd, name, plain);
  }

  /**
   * Removes the directory `name` in `dirfd` (at `rel` in the layer) with all it holds, and drops the
   * descriptors of what was under it: an entry written through one would be lost.
   */
  removeDir(dirfd: number, name: string, rel: string): void {
    for (const [path, fd] of this.open) {
      if (path !== rel && !path.startsWith(`${rel}/`)) continue;
      this.open.delete(path);
      closeFd(fd);
    }
    removeBeneath(dirfd, name);
  }

  /** Opens `name` in `dirfd` (no symlinks followed); the caller closes it. */
  openAt(dirfd: number, name: string, flags: number, mode = 0): number {
    return openat2(dirfd, name, flags | O.NOFOLLOW | O.CLOEXEC, mode, STRICT);
  }

  close(): void {
    for (const fd of this.open.values()) closeFd(fd);
    this.open.clear();
    closeFd(this.rootFd);
  }
}
