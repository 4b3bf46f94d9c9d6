import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, writeSync } from "node:fs";
import { decideEntry, planEntryPath, type EntryAction, type EntryPath, type Existing, type RejectReason, type SparseMap } from "../../../core-as/index";
import type { TarEntry } from "../image/tar-entries";
import { fchmodat, fsetxattr, lchownat, linkat, lsetxattr, lutimesat, mkdirat, mknod, O, symlinkat, unlinkat } from "../sys/libc";
import { writeSmallFile } from "../sys/layer-files";
import { LayerDir, UnsafePathError } from "./layer-dir";

export interface ApplyOptions {
  /** Give files their tar owners (inside a user namespace with the full mapping). */
  chown: boolean;
  /** Highest mapped uid/gid + 1, for a clear message when an owner is out of range. */
  idLimit: { uids: number; gids: number };
  /**
   * Extract files as `cp` does, not a layer: every name is plain (`.wh.NAME` is a file like any other),
   * the entry "." is skipped, and an entry replaces a directory with a non-directory, or the reverse,
   * only with `overwrite`. `where`: the directory's path as the user knows it, for those refusals.
   * `setid: false`: setuid and setgid bits are dropped (files for the host, where a set-id file of the
   * user's or of a subordinate id would run as them for whoever may execute it; as GNU tar does for a user).
   */
  plain?: { overwrite: boolean; where: string; setid: boolean };
}

/** The permission bits an entry gets. */
const modeOf = (e: TarEntry, opts: ApplyOptions) => e.mode & (opts.plain?.setid === false ? 0o1777 : 0o7777);

export interface ApplyResult {
  entries: number;
  bytes: number;
  skippedDevices: string[];
}

export class LayerError extends Error {}

const WHY: Record<RejectReason, string> = {
  escape: 'its ".." climbs out of the layer',
  "too-long": "the name is longer than 4096 bytes",
  nul: "the name contains a NUL byte",
  "bad-whiteout": "it is a whiteout of no valid name",
  "whiteout-same-layer": "it is a whiteout of an entry of the same layer (whiteouts hide lower layers only)",
  "link-target": "its target is not a file earlier in this layer",
  "root-not-dir": "the layer's root can only be a directory",
  empty: "the name is empty",
};

/** Overlayfs reads these from the upper layers: a layer must not set them by xattr records. */
const RESERVED_XATTR = /^(user|trusted)\.overlay\./;

function refuse(e: TarEntry, why: string): LayerError {
  const link = e.type === "hardlink" || e.type === "symlink" ? ` → ${JSON.stringify(e.linkpath)}` : "";
  return new LayerError(`refusing ${e.type} ${JSON.stringify(e.path)}${link}: ${why}`);
}

/** The core's plan for `name` (the entry's own, or its hardlink target's when `of` says so); a plain name is never a whiteout. */
function plan(e: TarEntry, name: string, plain: boolean, of = ""): EntryPath {
  const p = planEntryPath(name);
  if ("reject" in p) throw refuse(e, `${of}${WHY[p.reject]}`);
  return plain && p.cls !== "root" ? { ...p, cls: "plain" } : p;
}

/**
 * Write one layer's entries into `dir` (a path, or a descriptor that applyLayer closes) in the overlay
 * format: OCI whiteouts become char 0/0 devices, opaque markers the `user.overlay.opaque` xattr (with
 * `opts.plain`, files as they are). What to do with each entry is decided by the WASM core
 * (core-as/assembly/layer-entry.ts); this file only does the I/O, through LayerDir, so nothing is
 * written outside `dir`.
 */
export async function applyLayer(entries: AsyncIterable<TarEntry>, dir: string | number, opts: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { entries: 0, bytes: 0, skippedDevices: [] };
  const layer = new LayerDir(dir);
  const dirTimes: DirTimes = new Map();
  try {
    for await (const e of entries) {
      result.entries++;
      try {
        await applyEntry(layer, e, opts, result, dirTimes);
      } catch (err) {
        if (err instanceof UnsafePathError) throw refuse(e, err.message);
        throw err;
      }
    }
    // Directory times last: creating their entries changed them.
    for (const t of dirTimes.values()) lutimesat(t.path.cls === "root" ? layer.rootFd : layer.dir(t.path.parent, false), t.path.cls === "root" ? "." : t.path.name, t.mtime);
  } finally {
    layer.close();
  }
  return result;
}

/**
 * Files up to this size are read whole and written by one native call (open, write, owner, mode, times,
 * close: sys/layer-files.ts); with a JS call for each, or Bun's I/O threads for the bytes, a layer of
 * thousands of small files spent more time in JS than in the kernel (the 24k-file image loads in
 * 0.8 s on tmpfs, 1.0-1.1 s before).
 */
const SMALL_FILE = 1 << 20;

/** Each directory's time, by its path in the layer: the last entry of a path wins. */
type DirTimes = Map<string, { path: EntryPath; mtime: number }>;

async function applyEntry(layer: LayerDir, e: TarEntry, opts: ApplyOptions, result: ApplyResult, dirTimes: DirTimes): Promise<void> {
  const plain = opts.plain !== undefined;
  const p = plan(e, e.path, plain);
  const parent = p.cls === "root" ? layer.rootFd : layer.dir(p.parent, true);
  const existing: Existing = p.cls === "root" ? "dir" : layer.existing(parent, p.cls === "whiteout" ? p.hides : p.name, plain);
  let link: { cls: EntryPath["cls"]; existing: Existing; at?: EntryPath } | undefined;
  if (e.type === "hardlink") {
    const t = plan(e, e.linkpath, plain, "its target: ");
    // A link to its own name has no target once the entry replaces what is there.
    link = { cls: t.cls, existing: t.cls === "plain" && t.path !== p.path ? layer.existingAt(t.parent, t.name, plain) : "none", at: t };
  }
  const action: EntryAction | { reject: RejectReason } = decideEntry(e.type, p.cls, existing, link);
  if (typeof action === "object") throw refuse(e, WHY[action.reject]);
  if (opts.plain) {
    if (action === "root") return;
    const where = `${opts.plain.where.replace(/\/$/, "")}/${p.path}`;
    if (action === "replace" && e.type === "dir" && !opts.plain.overwrite) throw new LayerError(`cannot replace ${where}, which is not a directory, with a directory (--overwrite allows it)`);
    if (action === "replace-dir" && !opts.plain.overwrite) throw new LayerError(`cannot replace the directory ${where} with a non-directory (--overwrite allows it)`);
  }
  switch (action) {
    case "skip":
      return;
    case "skip-device":
      // mknod of real devices is refused without privileges; containers get /dev from the runtime.
      result.skippedDevices.push(p.path);
      return;
    case "opaque":
      fsetxattr(parent, "user.overlay.opaque", new TextEncoder().encode("y"), p.parent || ".");
      return;
    case "whiteout":
      mknod(p.hides, "whiteout", parent);
      return;
    case "root":
      setMetadata(layer.rootFd, e, opts, ".");
      dirTimes.set("", { path: p, mtime: e.mtime });
      return;
    case "replace":
      unlinkat(parent, p.name);
      break;
    case "replace-dir":
      layer.removeDir(parent, p.name, p.path);
      for (const key of dirTimes.keys()) if (key === p.path || key.startsWith(`${p.path}/`)) dirTimes.delete(key);
      break;
  }
  switch (e.type) {
    case "dir": {
      if (action !== "update-dir") mkdirat(parent, p.name, 0o700); // 0700 until its metadata is set
      const fd = layer.openAt(parent, p.name, O.RDONLY | O.DIRECTORY);
      try {
        setMetadata(fd, e, opts, p.path);
      } finally {
        closeSync(fd);
      }
      dirTimes.set(p.path, { path: p, mtime: e.mtime });
      return;
    }
    case "file": {
      // Checked first, so that an owner out of range fails at this entry, before anything is created.
      const [uid, gid] = opts.chown ? [checkedId(e, opts, p.path, "uid"), checkedId(e, opts, p.path, "gid")] : [-1, -1];
      if (e.size <= SMALL_FILE && !hasXattrs(e) && !e.sparse) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of e.body) chunks.push(chunk);
        const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        writeSmallFile(parent, p.name, data, modeOf(e, opts), uid, gid, e.mtime);
        result.bytes += data.length;
        return;
      }
      const fd = layer.openAt(parent, p.name, O.WRONLY | O.CREAT | O.EXCL, 0o600);
      try {
        if (e.sparse) result.bytes += await writeSparse(fd, e.body, e.sparse);
        else {
          for await (const chunk of e.body) {
            for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
            result.bytes += chunk.length;
          }
        }
        setMetadata(fd, e, opts, p.path);
        futimesSync(fd, e.mtime, e.mtime);
      } finally {
        closeSync(fd);
      }
      return;
    }
    case "hardlink": {
      const t = link!.at!;
      linkat(layer.dir(t.parent, false), t.name, parent, p.name);
      return;
    }
    case "symlink":
      symlinkat(e.linkpath, parent, p.name);
      if (opts.chown) lchownat(parent, p.name, checkedId(e, opts, p.path, "uid"), checkedId(e, opts, p.path, "gid"));
      setXattrs(e, (k, v) => lsetxattr(`/proc/self/fd/${parent}/${p.name}`, k, v));
      lutimesat(parent, p.name, e.mtime);
      return;
    case "fifo":
      mknod(p.name, "fifo", parent);
      if (opts.chown) lchownat(parent, p.name, checkedId(e, opts, p.path, "uid"), checkedId(e, opts, p.path, "gid"));
      fchmodat(parent, p.name, modeOf(e, opts));
      setXattrs(e, (k, v) => lsetxattr(`/proc/self/fd/${parent}/${p.name}`, k, v));
      lutimesat(parent, p.name, e.mtime);
      return;
  }
}

/**
 * Writes a sparse file's data (its segments' bytes, one after the other) where its map says: what lies
 * between is never written, so it stays a hole; then gives the file its size. Returns the bytes written.
 */
async function writeSparse(fd: number, body: AsyncIterable<Uint8Array>, map: SparseMap): Promise<number> {
  const segments = map.segments;
  let i = 0;
  let done = 0; // bytes of segments[i] written
  let total = 0;
  for await (const chunk of body) {
    for (let off = 0; off < chunk.length; ) {
      while (done === segments[i]!.length) {
        i++;
        done = 0;
      }
      // The core checked that the segments hold exactly the entry's data.
      const s = segments[i]!;
      const n = writeSync(fd, chunk, off, Math.min(chunk.length - off, s.length - done), s.offset + done);
      off += n;
      done += n;
      total += n;
    }
  }
  ftruncateSync(fd, map.size);
  return total;
}

/** Owner, then mode (chown clears setuid/setgid), then xattrs (chown clears security.capability). */
function setMetadata(fd: number, e: TarEntry, opts: ApplyOptions, rel: string): void {
  if (opts.chown) fchownSync(fd, checkedId(e, opts, rel, "uid"), checkedId(e, opts, rel, "gid"));
  fchmodSync(fd, modeOf(e, opts));
  setXattrs(e, (k, v) => fsetxattr(fd, k, v, rel));
}

function hasXattrs(e: TarEntry): boolean {
  for (const _ in e.xattrs) return true;
  return false;
}

function setXattrs(e: TarEntry, set: (key: string, value: Uint8Array) => void): void {
  for (const [key, value] of Object.entries(e.xattrs)) {
    if (RESERVED_XATTR.test(key)) continue;
    try {
      set(key, value);
    } catch {
      // security.* and trusted.* need privileges the user namespace may not have; user.* always works.
    }
  }
}

/** The entry's uid or gid, refused with the user's range when the user namespace cannot map it. */
function checkedId(e: TarEntry, opts: ApplyOptions, rel: string, which: "uid" | "gid"): number {
  const id = e[which];
  const limit = which === "uid" ? opts.idLimit.uids : opts.idLimit.gids;
  if (id < limit) return id;
  const file = which === "uid" ? "/etc/subuid" : "/etc/subgid";
  throw new LayerError(
    `${rel} is owned by ${which} ${id}, outside the ${which}s this user can map (0-${limit - 1}): potentially insufficient UIDs or GIDs in the user namespace; give the user a larger range in ${file}`,
  );
}
