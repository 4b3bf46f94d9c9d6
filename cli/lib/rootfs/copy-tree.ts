import { closeSync, fchmodSync, fchownSync, ftruncateSync } from "node:fs";
import { closeFd, fchmodat, fsetxattr, lchownat, linkat, mkdirat, mknod, O, openat2, RESOLVE, setTimes, symlinkat } from "../sys/libc";
import { copyData, dataRuns, fdXattrs, mayHaveHoles, openEntry, type EntryStat } from "../sys/layer-files";
import { confinedWalk, type Level } from "./confined-tree";
import { isOverlayXattr } from "./merged-tree";

/** The owner a copy gets, from the stored one (the same, but where the container maps ids otherwise). */
export type Owner = (uid: number, gid: number) => [number, number];
export const sameOwner: Owner = (uid, gid) => [uid, gid];

/** Never follow a symlink, never leave the directory of the descriptor. */
const STRICT = RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS;
const DIR_FLAGS = O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC;
const S_IFMT = 0o170000, S_IFREG = 0o100000, S_IFDIR = 0o040000, S_IFLNK = 0o120000, S_IFIFO = 0o010000;

const timesOf = (st: EntryStat): [[number, number], [number, number]] => [
  [st.atimeSec, st.atimeNsec],
  [st.mtimeSec, st.mtimeNsec],
];

/** Owner, then mode (chown clears setuid bits), then xattrs but overlay's own (chown clears file capabilities), then times, on the descriptor `fd`. */
function setMeta(fd: number, st: EntryStat, xattrs: Map<string, Uint8Array>, owner: Owner, what: string): void {
  fchownSync(fd, ...owner(st.uid, st.gid));
  fchmodSync(fd, st.mode & 0o7777);
  for (const [name, value] of xattrs) {
    if (isOverlayXattr(name)) continue;
    try {
      fsetxattr(fd, name, value, what);
    } catch (err) {
      // security.* and trusted.* need privileges the user namespace may not have; user.* always works.
      if (name.startsWith("user.")) throw err;
    }
  }
  setTimes(fd, null, ...timesOf(st), what);
}

/** What a directory's copy keeps of it: its stat and xattrs. */
export interface DirMeta {
  st: EntryStat;
  xattrs: Map<string, Uint8Array>;
}

/**
 * The metadata of the merged directory `levels` (its topmost layer's), read before the copy walks it
 * (reading a directory moves its atime).
 */
export function mergedDirMeta(levels: Level[]): DirMeta | undefined {
  if (!levels.length) return undefined;
  const top = openEntry(levels[0]!.fd, ".")!;
  try {
    return { st: top.st, xattrs: fdXattrs(top.fd, ".") };
  } finally {
    closeFd(top.fd);
  }
}

/** `meta` onto the directory `fd`, once nothing more is written into it (its mode may forbid that; its mtime would move). */
export function setDirMeta(fd: number, meta: DirMeta | undefined, owner: Owner, what: string): void {
  if (meta) setMeta(fd, meta.st, meta.xattrs, owner, what);
}

interface OpenDir {
  rel: string;
  fd: number;
  meta?: DirMeta;
}

/**
 * Copy what the merged directory `levels` holds (confinedWalk: whiteouts and opaque directories
 * honoured) into the empty directory `dest`, with owners (through `owner`), modes, xattrs, times and
 * hard links kept; sparse files stay sparse, data is copied in the kernel. Both sides go through
 * descriptors only: each entry is read through the descriptor the walk opened, and created as one
 * name under its new parent's descriptor (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_EXCL), so
 * neither a link in the source nor one put in the destination meanwhile leads the copy elsewhere.
 * The directory `dest` itself is left as it is (mergedDirMeta, setDirMeta). Runs as root of the user
 * namespace when owners other than the user's are involved.
 */
export function copyMergedTree(levels: Level[], dest: number, owner: Owner): void {
  const open: OpenDir[] = [{ rel: "", fd: dest }];
  const links = new Map<string, string>(); // dev:ino → the first copy's path, so hard links stay hard links
  const finish = (d: OpenDir) => {
    try {
      setDirMeta(d.fd, d.meta, owner, d.rel);
    } finally {
      closeFd(d.fd);
    }
  };
  try {
    for (const e of confinedWalk(levels)) {
      const slash = e.rel.lastIndexOf("/");
      const parentRel = slash < 0 ? "" : e.rel.slice(0, slash);
      const name = e.rel.slice(slash + 1);
      while (open[open.length - 1]!.rel !== parentRel) finish(open.pop()!);
      const parent = open[open.length - 1]!.fd;
      const type = e.st.mode & S_IFMT;
      if (type === S_IFDIR) {
        mkdirat(parent, name, 0o700);
        open.push({ rel: e.rel, fd: openat2(parent, name, DIR_FLAGS, 0, STRICT), meta: { st: e.st, xattrs: e.xattrs } });
        continue;
      }
      const first = e.st.nlink > 1 ? links.get(e.st.inode) : undefined;
      if (first !== undefined) {
        linkTo(dest, first, parent, name);
        continue;
      }
      if (type === S_IFREG) copyFile(e.fd, e.st, e.xattrs, parent, name, owner, e.rel);
      else if (type === S_IFLNK || type === S_IFIFO) {
        if (type === S_IFLNK) symlinkat(e.link!, parent, name);
        else mknod(name, "fifo", parent);
        lchownat(parent, name, ...owner(e.st.uid, e.st.gid));
        if (type === S_IFIFO) fchmodat(parent, name, e.st.mode & 0o7777);
        setTimes(parent, name, ...timesOf(e.st), e.rel);
      } else continue; // sockets; device nodes cannot be created unprivileged and are never in a stored layer
      if (e.st.nlink > 1) links.set(e.st.inode, e.rel);
    }
    while (open.length > 1) finish(open.pop()!);
  } finally {
    for (const d of open.slice(1)) closeFd(d.fd);
  }
}

function copyFile(src: number, st: EntryStat, xattrs: Map<string, Uint8Array>, parent: number, name: string, owner: Owner, rel: string): void {
  const out = openat2(parent, name, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW | O.CLOEXEC, 0o600, STRICT);
  try {
    let copied = 0;
    for (const r of mayHaveHoles(st) ? dataRuns(src, st.size, rel) : [{ offset: 0, length: st.size }]) copied += copyData(out, src, r.offset, r.length, rel);
    // Holes at the end, or a file that shrank while it was read, still get the size described.
    if (copied !== st.size) ftruncateSync(out, st.size);
    setMeta(out, st, xattrs, owner, rel);
  } finally {
    closeSync(out);
  }
}

/** A hard link at `name` under `parent` to the copy at `firstRel` under `dest`. */
function linkTo(dest: number, firstRel: string, parent: number, name: string): void {
  const slash = firstRel.lastIndexOf("/");
  const dir = slash < 0 ? dest : openat2(dest, firstRel.slice(0, slash), DIR_FLAGS, 0, STRICT);
  try {
    linkat(dir, firstRel.slice(slash + 1), parent, name);
  } finally {
    if (dir !== dest) closeFd(dir);
  }
}
