import { AT_FDCWD, closeFd, fsMagic, lstatType, O, openat2 } from "../sys/libc";
import { fdXattrs, openEntry, readDirNames, type OpenEntry } from "../sys/layer-files";
import { isOpaqueValue, OPAQUE_XATTRS, visibleNames } from "./merged-tree";

/** One entry of the merged view, open: its descriptor is valid until the walk goes on. */
export interface ConfinedEntry extends OpenEntry {
  rel: string;
  xattrs: Map<string, Uint8Array>;
}

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFCHR = 0o020000;
const isDir = (e: OpenEntry) => (e.st.mode & S_IFMT) === S_IFDIR;
const isWhiteout = (e: OpenEntry) => (e.st.mode & S_IFMT) === S_IFCHR && e.st.rdevMajor === 0 && e.st.rdevMinor === 0;
const isOpaque = (xattrs: Map<string, Uint8Array>) => OPAQUE_XATTRS.some((n) => isOpaqueValue(xattrs.get(n)));
const deviceOf = (e: OpenEntry) => e.st.inode.slice(0, e.st.inode.indexOf(":"));

/** The kernel's own filesystems (proc, sysfs, devpts, mqueue, cgroup, cgroup2, securityfs, debugfs, tracefs, bpf): files with no content to copy. */
const KERNEL_FS = new Set([0x9fa0, 0x62656572, 0x1cd1, 0x19800202, 0x27e0eb, 0x63677270, 0x73636673, 0x64626720, 0x74726163, 0xcafe4a11]);

/** One layer's directory of a merged directory, open; `opaque`: the layers below it do not show. */
export interface Level {
  fd: number;
  opaque: boolean;
  /** A plain tree's directory: its device, to see where another filesystem is mounted. */
  device?: string;
}

export function closeLevels(levels: Level[]): void {
  for (const l of levels) closeFd(l.fd);
}

/** The root directories of layers (top first), open; the caller closes them (closeLevels). */
export function openLevels(dirsTopFirst: string[]): Level[] {
  const roots: Level[] = [];
  try {
    for (const dir of dirsTopFirst) {
      const level = { fd: openat2(AT_FDCWD, dir, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, 0), opaque: false };
      roots.push(level);
      level.opaque = isOpaque(fdXattrs(level.fd, dir));
    }
  } catch (err) {
    closeLevels(roots);
    throw err;
  }
  return roots;
}

/**
 * The file system an overlay of `dirsTopFirst` shows (whiteouts and opaque directories honoured, names
 * sorted, each directory before its children), walked through descriptors only: each entry is opened
 * relative to its directory's descriptor, never through a symlink, never outside it (sys/layer-files.ts
 * openEntry). The trees may belong to a running container, which can rename and swap anything
 * meanwhile: the walk then sees an entry as it was or as it is, never a file outside.
 */
export function* confinedTree(dirsTopFirst: string[]): Generator<ConfinedEntry> {
  const roots = openLevels(dirsTopFirst);
  try {
    yield* confinedWalk(roots);
  } finally {
    closeLevels(roots);
  }
}

/**
 * The open entry `top` and, when it is a directory, everything below it, walked as confinedTree walks
 * but in one plain tree (a container's root as its processes see it: no layers, no whiteouts), named
 * relative to `top` (which is ""). The caller keeps `top.fd`.
 */
export function* plainTree(top: OpenEntry): Generator<ConfinedEntry> {
  yield { ...top, rel: "", xattrs: fdXattrs(top.fd, ".") };
  if (isDir(top)) yield* walk([{ fd: top.fd, opaque: false, device: deviceOf(top) }], "", false);
}

/**
 * As confinedTree, below a merged directory already open (`rel`: its path, which the entries' paths
 * start with). Whiteouts in fuse-overlayfs's `.wh.NAME` form and `.wh..wh..opq` are read from the
 * listings (merged-tree.ts visibleNames), char 0/0 whiteouts and the opaque xattr here.
 */
export function* confinedWalk(levels: Level[], rel = ""): Generator<ConfinedEntry> {
  yield* walk(levels, rel, true);
}

function* walk(levels: Level[], rel: string, layered: boolean): Generator<ConfinedEntry> {
  const listings = levels.map((l) => ({ names: readDirNames(l.fd, rel || "/"), opaque: l.opaque }));
  const names: [string, number][] = layered ? visibleNames(listings) : listings[0]!.names.sort().map((n) => [n, 0]);
  for (const [name, i] of names) {
    const e = openEntry(levels[i]!.fd, name);
    if (!e) continue; // removed meanwhile
    const relPath = rel ? `${rel}/${name}` : name;
    const below: Level[] = [];
    try {
      if (layered && isWhiteout(e)) continue;
      const xattrs = fdXattrs(e.fd, relPath);
      yield { ...e, rel: relPath, xattrs };
      if (!isDir(e)) continue;
      // A running container's /proc, /sys, /dev/pts...: the directory, not what the kernel shows in it.
      if (!layered && deviceOf(e) !== levels[0]!.device && KERNEL_FS.has(fsMagic(e.fd))) continue;
      // A directory merges with the directories of the same path below it, down to an opaque one or a non-directory.
      below.push({ fd: e.fd, opaque: isOpaque(xattrs), device: deviceOf(e) });
      for (let j = i + 1; j < levels.length && !below[below.length - 1]!.opaque; j++) {
        const lower = openEntry(levels[j]!.fd, name);
        if (!lower) continue;
        if (!isDir(lower)) {
          closeFd(lower.fd);
          break;
        }
        below.push({ fd: lower.fd, opaque: isOpaque(fdXattrs(lower.fd, relPath)) });
      }
      yield* walk(below, relPath, layered);
    } finally {
      closeFd(e.fd);
      closeLevels(below.slice(1));
    }
  }
}

/** As the kernel's RESOLVE_IN_ROOT gives up on a path: after this many symlinks (ELOOP). */
const MAX_LINKS = 40;

/**
 * The merged directory at `path` in the overlay of `dirsTopFirst` (its layers' directories, open; the
 * caller closes them), or undefined where the image has no directory there. The path resolves as the
 * container's mount of it does (openat2 RESOLVE_IN_ROOT in the executor): a symlink of the image is
 * followed inside the image, an absolute one from the image's root, and ".." never climbs above that
 * root. Every step opens one name under a layer directory's descriptor (openEntry), so neither a link
 * nor a swap leads out of the layers.
 */
export function openMergedDir(dirsTopFirst: string[], path: string): Level[] | undefined {
  const stack: Level[][] = [openLevels(dirsTopFirst)]; // the directories from the root to where the walk is
  let todo = parts(path);
  let links = 0;
  try {
    while (todo.length) {
      const name = todo.shift()!;
      if (name === "..") {
        if (stack.length > 1) closeLevels(stack.pop()!);
        continue;
      }
      const found = lookup(stack[stack.length - 1]!, name);
      if (found === undefined || (typeof found === "string" && ++links > MAX_LINKS)) return undefined;
      if (typeof found !== "string") {
        stack.push(found);
        continue;
      }
      if (found.startsWith("/")) while (stack.length > 1) closeLevels(stack.pop()!);
      todo = [...parts(found), ...todo];
    }
    return stack.pop();
  } finally {
    for (const levels of stack) closeLevels(levels);
  }
}

const NAME_MAX = 255;
const parts = (path: string) => path.split("/").filter((n) => n && n !== ".");

/**
 * `name` in the merged directory `levels`: the directories it merges (open), a symlink's target, or
 * undefined (nothing there, whited out, or not a directory).
 */
function lookup(levels: Level[], name: string): Level[] | string | undefined {
  const bytes = Buffer.byteLength(name);
  if (bytes > NAME_MAX) return undefined; // no file has such a name (the mount reports it)
  const below: Level[] = [];
  try {
    for (const level of levels) {
      if (bytes <= NAME_MAX - 4 && lstatType(level.fd, `.wh.${name}`)) break;
      const e = openEntry(level.fd, name);
      if (e && !isDir(e)) {
        closeFd(e.fd);
        // The topmost entry is what the name is; a non-directory under a directory ends the merge.
        if (below.length || isWhiteout(e)) break;
        return e.link;
      }
      if (e) {
        const opaque = isOpaque(fdXattrs(e.fd, name)) || lstatType(e.fd, ".wh..wh..opq") !== undefined;
        below.push({ fd: e.fd, opaque });
        if (opaque) break;
      }
      if (level.opaque) break;
    }
  } catch (err) {
    closeLevels(below);
    throw err;
  }
  return below.length ? below : undefined;
}
