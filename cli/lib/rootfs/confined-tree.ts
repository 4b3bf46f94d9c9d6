import { AT_FDCWD, closeFd, fsMagic, O, openat2 } from "../sys/libc";
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

interface Level {
  fd: number;
  opaque: boolean;
  /** A plain tree's directory: its device, to see where another filesystem is mounted. */
  device?: string;
}

/**
 * The file system an overlay of `dirsTopFirst` shows (as mergedTree: whiteouts and opaque directories
 * honoured, names sorted, each directory before its children), walked through descriptors only: each
 * entry is opened relative to its directory's descriptor, never through a symlink, never outside it
 * (sys/layer-files.ts openEntry). The trees may belong to a running container, which can rename and
 * swap anything meanwhile: the walk then sees an entry as it was or as it is, never a file outside.
 */
export function* confinedTree(dirsTopFirst: string[]): Generator<ConfinedEntry> {
  const roots: Level[] = [];
  try {
    for (const dir of dirsTopFirst) {
      const fd = openat2(AT_FDCWD, dir, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, 0);
      roots.push({ fd, opaque: isOpaque(fdXattrs(fd, dir)) });
    }
    yield* walk(roots, "", true);
  } finally {
    for (const r of roots) closeFd(r.fd);
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
      for (const b of below.slice(1)) closeFd(b.fd);
    }
  }
}
