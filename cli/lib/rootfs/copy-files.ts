import { fstatSync, readSync } from "node:fs";
import type { TarEntry, TarEntryType } from "../image/tar-entries";
import { tarEntries } from "../image/tar-entries";
import { openOutput } from "../output-file";
import { dataRuns, openEntry, type OpenEntry } from "../sys/layer-files";
import { AT_FDCWD, closeFd, lstatType, O, openat2, RESOLVE, S_IFDIR } from "../sys/libc";
import { applyLayer } from "./apply-layer";
import { plainTree, type ConfinedEntry } from "./confined-tree";
import { linkTarget, parseCopyPath, placeCopy, type DestState } from "./copy-path";
import { exported, writeTar } from "./export-tree";
import { removeBeneath } from "./remove-tree";

/** One end of a copy: a path in the container or on the host (absolute), or a tar stream (stdin, stdout). */
export type CopyEnd = { side: "container" | "host"; path: string } | { side: "stream" };

export interface CopyJob {
  kind: "copy";
  /**
   * The container's root: a descriptor rl passed to the job (a running container's /proc/PID/root),
   * or a directory (the job's own mount of a stopped container's layers, or its vfs copy).
   */
  root: { fd: number } | { dir: string };
  /** The container's name, for messages. */
  container: string;
  from: CopyEnd;
  to: CopyEnd;
  /** -a: the source's owners (as the container's ids), else the owner of what this job creates. */
  archive: boolean;
  /** -L: a symlink named by the source is followed. */
  followLink: boolean;
  /** --overwrite: an entry may replace a directory with a non-directory, or the reverse. */
  overwrite: boolean;
  idLimit: { uids: number; gids: number };
}

/**
 * Where paths of one end are resolved: a container's, from its root descriptor with the kernel keeping
 * every step (symlinks, "..") inside it (RESOLVE_IN_ROOT), and never through /proc's magic links; the
 * host's, as the user's own programs resolve them.
 */
interface Space {
  fd: number;
  resolve: number;
  where: string;
  /** The host's: a symlink rl follows itself is held to the kernel's fs.protected_symlinks rule. */
  host?: boolean;
}

const S_IFMT = 0o170000;
const TYPES: Record<number, TarEntryType> = { 0o100000: "file", 0o040000: "dir", 0o120000: "symlink", 0o010000: "fifo", 0o020000: "char", 0o060000: "block" };
const S_IFLNK = 0o120000;
const isDir = (e: OpenEntry) => (e.st.mode & S_IFMT) === S_IFDIR;
const MAX_LINKS = 40;
const CHUNK = 1 << 20;

const failure = (path: string, what: string, s: Space) => new Error(`${path}: ${what} ${s.where}`);

/**
 * A symlink of the host that rl is about to follow by reading it: refused where the kernel would not
 * follow it either (fs.protected_symlinks): in a sticky world-writable directory such as /tmp, a link
 * owned by neither the user nor the directory's owner, which another user may have planted there.
 */
function checkFollow(s: Space, dirFd: number, link: OpenEntry, path: string): void {
  if (!s.host) return;
  const dir = fstatSync(dirFd);
  if ((dir.mode & 0o1002) === 0o1002 && link.st.uid !== process.getuid!() && link.st.uid !== dir.uid) {
    throw failure(path, "leads through a symlink another user owns in a sticky world-writable directory: not followed", s);
  }
}

/** The directory `dir` of `s`, open; `missing` is the error when it is not one. */
function openDir(s: Space, dir: string, missing: () => Error): number {
  try {
    return openat2(s.fd, dir, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, s.resolve);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw missing();
    throw err;
  }
}

/**
 * The source entry, open (a symlink as itself, unless -L or a trailing "/" asks for what it leads to),
 * with the name the copy takes (the last component as typed, "" for a root) and whether only its
 * contents are copied ("/.").
 */
function openSource(s: Space, path: string, follow: boolean): { entry: OpenEntry; name: string; contents: boolean } {
  const asked = parseCopyPath(path);
  let at = asked;
  for (let hops = 0; ; hops++) {
    const dirFd = openDir(s, at.dir, () => failure(path, "no such file or directory", s));
    let e: OpenEntry | undefined;
    try {
      e = openEntry(dirFd, at.base || ".");
      if (e?.link !== undefined && (follow || asked.dirOnly)) {
        closeFd(e.fd);
        checkFollow(s, dirFd, e, path);
      }
    } finally {
      closeFd(dirFd);
    }
    if (!e) throw failure(path, "no such file or directory", s);
    if (e.link === undefined || !(follow || asked.dirOnly)) {
      if (asked.dirOnly && !isDir(e)) {
        closeFd(e.fd);
        throw failure(path, "not a directory", s);
      }
      return { entry: e, name: asked.base, contents: asked.contents || asked.base === "" };
    }
    if (hops === MAX_LINKS) throw failure(path, "too many levels of symbolic links", s);
    at = linkTarget(at, e.link);
  }
}

interface Dest {
  /** The directory that holds the destination (or is it, when `name` is ""); the caller closes it. */
  dirFd: number;
  name: string;
  state: DestState;
  dirOnly: boolean;
}

/** The destination, its symlinks followed as docker follows them (a link there is written through, inside `s`). */
function findDest(s: Space, path: string): Dest {
  const asked = parseCopyPath(path);
  let at = asked;
  for (let hops = 0; ; hops++) {
    const dirFd = openDir(s, at.dir, () => failure(at.dir, "no such directory", s));
    if (!at.base) return { dirFd, name: "", state: "dir", dirOnly: true };
    const t = lstatType(dirFd, at.base);
    // Only a symlink is opened (O_PATH, for its target): a file there need not be readable to be replaced.
    const e = t?.type === S_IFLNK ? openEntry(dirFd, at.base) : undefined;
    if (e) closeFd(e.fd);
    if (e?.link === undefined) return { dirFd, name: at.base, state: !t ? "none" : t.type === S_IFDIR ? "dir" : "other", dirOnly: asked.dirOnly };
    try {
      checkFollow(s, dirFd, e, path);
    } finally {
      closeFd(dirFd);
    }
    if (hops === MAX_LINKS) throw failure(path, "too many levels of symbolic links", s);
    at = linkTarget(at, e.link);
  }
}

/** The data of the file `fd`, read from `runs` one after the other (a file that shrank meanwhile ends early). */
async function* fileData(fd: number, runs: { offset: number; length: number }[]): AsyncGenerator<Uint8Array> {
  for (const r of runs) {
    for (let off = r.offset, end = r.offset + r.length; off < end; ) {
      const buf = new Uint8Array(Math.min(CHUNK, end - off));
      const n = readSync(fd, buf, 0, buf.length, off);
      if (n === 0) return;
      yield n === buf.length ? buf : buf.subarray(0, n);
      off += n;
    }
  }
}

const joinName = (prefix: string, rel: string) => (prefix && rel ? `${prefix}/${rel}` : prefix || rel);

/**
 * A walked tree as tar entries named under `prefix` ("." for its top when there is none), hardlinks
 * kept, holes kept as holes, xattrs as export keeps them (for the host: user.* only, no file capabilities).
 */
async function* asTarEntries(entries: Iterable<ConfinedEntry>, prefix: string, toHost: boolean): AsyncGenerator<TarEntry> {
  const links = new Map<string, string>();
  for (const e of entries) {
    const type = TYPES[e.st.mode & S_IFMT];
    if (!type) continue; // a socket
    const path = joinName(prefix, e.rel) || ".";
    const xattrs: Record<string, Uint8Array> = {};
    for (const [k, v] of e.xattrs) if (exported(k) && !(toHost && k === "security.capability")) xattrs[k] = v;
    const entry: TarEntry = {
      path,
      type,
      linkpath: e.link ?? "",
      mode: e.st.mode & 0o7777,
      uid: e.st.uid,
      gid: e.st.gid,
      size: 0,
      mtime: e.st.mtimeSec + e.st.mtimeNsec / 1e9,
      devmajor: e.st.rdevMajor,
      devminor: e.st.rdevMinor,
      xattrs,
      body: fileData(e.fd, []),
    };
    if (type !== "dir" && e.st.nlink > 1) {
      const first = links.get(e.st.inode);
      if (first) {
        yield { ...entry, type: "hardlink", linkpath: first, xattrs: {} };
        continue;
      }
      links.set(e.st.inode, path);
    }
    if (type === "file") {
      const { size, blocks } = e.st;
      const runs = size > 0 && blocks * 512 < size ? dataRuns(e.fd, size, path) : [{ offset: 0, length: size }];
      entry.size = runs.reduce((n, r) => n + r.length, 0);
      if (entry.size < size) entry.sparse = { size, segments: runs };
      entry.body = fileData(e.fd, runs);
    }
    yield entry;
  }
}

/**
 * Write `entries` where docker's rules put them at the destination `to` (found as `dest`), through
 * descriptors that never leave the directory they start from (apply-layer.ts in its plain mode). A top
 * entry that did not exist before goes again when the copy fails.
 */
async function extract(entries: AsyncIterable<TarEntry>, dest: Dest, placed: { into: "dest" | "parent"; name: string }, to: { side: string; path: string }, job: CopyJob): Promise<void> {
  const where = placed.into === "dest" ? to.path : parseCopyPath(to.path).dir;
  const baseFd = placed.into === "dest" && dest.name ? openat2(dest.dirFd, dest.name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS) : dest.dirFd;
  const fresh = placed.name !== "" && lstatType(baseFd, placed.name) === undefined;
  const keep = fresh ? openat2(baseFd, ".", O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, RESOLVE.BENEATH) : -1;
  try {
    // Device nodes are left out (rl cannot create them; a running container's are its /dev's).
    await applyLayer(entries, baseFd, { chown: job.archive, idLimit: job.idLimit, plain: { overwrite: job.overwrite, where, setid: to.side !== "host" } });
  } catch (err) {
    if (fresh) removeBeneath(keep, placed.name);
    throw err;
  } finally {
    if (keep >= 0) closeFd(keep);
    if (baseFd !== dest.dirFd) closeFd(dest.dirFd);
  }
}

/**
 * `rl cp`, run as root of a user namespace with the store's id mapping: read the source (a tree, or a
 * tar stream on stdin) and write it at the destination (a directory, or a tar stream on stdout), the
 * container's side confined to its root whatever its symlinks say or its processes do meanwhile.
 */
export async function copyFiles(job: CopyJob): Promise<{ ok: true; changed?: string[] }> {
  const rootFd = "fd" in job.root ? job.root.fd : openat2(AT_FDCWD, job.root.dir, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, 0);
  const spaces: Record<"container" | "host", Space> = {
    container: { fd: rootFd, resolve: RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS, where: `in container ${job.container}` },
    host: { fd: AT_FDCWD, resolve: 0, where: "on the host", host: true },
  };
  try {
    if (job.from.side === "stream") {
      if (job.to.side === "stream") throw new Error("one end must be a container's path");
      const s = spaces[job.to.side];
      const dest = findDest(s, job.to.path);
      if (dest.state !== "dir") {
        closeFd(dest.dirFd);
        throw dest.state === "none" ? failure(job.to.path, "no such directory", s) : new Error(`${job.to.path} is not a directory: a tar stream from stdin is extracted into one`);
      }
      const input = Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>;
      await extract(tarEntries(input), dest, { into: "dest", name: "" }, job.to, job);
      return { ok: true };
    }
    const src = openSource(spaces[job.from.side], job.from.path, job.followLink);
    try {
      const prefix = src.contents ? "" : src.name;
      if (job.to.side === "stream") {
        const named = function* () {
          for (const e of plainTree(src.entry)) if (prefix || e.rel) yield { ...e, rel: joinName(prefix, e.rel) };
        };
        return writeTar(named(), openOutput(undefined));
      }
      const s = spaces[job.to.side];
      const dest = findDest(s, job.to.path);
      const placed = placeCopy({ isDir: isDir(src.entry), contents: src.contents, name: src.name }, dest);
      if ("refused" in placed) {
        closeFd(dest.dirFd);
        throw placed.refused === "no-dir" ? failure(job.to.path, "no such directory", s) : new Error(`${job.to.path} is not a directory: a directory cannot be copied onto it`);
      }
      await extract(asTarEntries(plainTree(src.entry), placed.name, job.to.side === "host"), dest, placed, job.to, job);
      return { ok: true };
    } finally {
      closeFd(src.entry.fd);
    }
  } finally {
    closeFd(rootFd);
  }
}
