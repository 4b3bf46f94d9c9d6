import { closeSync, fchmodSync, fchownSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, rmSync, symlinkSync, writeSync, chmodSync, chownSync, utimesSync, constants } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { TarEntry } from "../image/tar-entries";
import { lsetxattr, mknod } from "../sys/libc";
import { normalizeEntryPath, preparePath, UnsafePathError } from "./safe-path";

const WHITEOUT_PREFIX = ".wh.";
const OPAQUE = ".wh..wh..opq";

export interface ApplyOptions {
  /** Give files their tar owners (inside a user namespace with the full mapping). */
  chown: boolean;
  /** Highest mapped uid/gid + 1, for a clear message when an owner is out of range. */
  idLimit: { uids: number; gids: number };
}

export interface ApplyResult {
  entries: number;
  bytes: number;
  skippedDevices: string[];
}

export class LayerError extends Error {}

function removeExisting(path: string): void {
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) rmSync(path, { recursive: true, force: true });
    else rmSync(path, { force: true });
  } catch {}
}

/**
 * Write one layer's entries into `dir` in the overlay format: OCI whiteouts become char 0/0 devices,
 * opaque markers the `user.overlay.opaque` xattr. Nothing is written outside `dir`.
 */
export async function applyLayer(entries: AsyncIterable<TarEntry>, dir: string, opts: ApplyOptions): Promise<ApplyResult> {
  const result: ApplyResult = { entries: 0, bytes: 0, skippedDevices: [] };
  const dirTimes: [string, number][] = [];
  for await (const e of entries) {
    result.entries++;
    let rel: string;
    try {
      rel = normalizeEntryPath(e.path);
    } catch (err) {
      throw new LayerError(`refusing entry ${(err as Error).message}`);
    }
    if (rel === "") {
      applyOwnerAndMode(dir, e, opts, false);
      dirTimes.push([dir, e.mtime]);
      continue;
    }
    const name = basename(rel);
    let path: string;
    try {
      path = preparePath(dir, rel);
    } catch (err) {
      if (err instanceof UnsafePathError) throw new LayerError(`refusing entry: ${err.message}`);
      throw err;
    }
    if (name === OPAQUE) {
      lsetxattr(dirname(path), "user.overlay.opaque", new TextEncoder().encode("y"));
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      const target = join(dirname(path), name.slice(WHITEOUT_PREFIX.length));
      removeExisting(target);
      mknod(target, "whiteout");
      continue;
    }
    switch (e.type) {
      case "dir": {
        let st;
        try {
          st = lstatSync(path);
        } catch {}
        if (st && !st.isDirectory()) removeExisting(path);
        if (!st || !st.isDirectory()) mkdirSync(path, { mode: 0o700 });
        applyOwnerAndMode(path, e, opts, false);
        dirTimes.push([path, e.mtime]);
        break;
      }
      case "file": {
        removeExisting(path);
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of e.body) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
            result.bytes += chunk.length;
          }
          if (opts.chown) chownChecked(() => fchownSync(fd, e.uid, e.gid), rel, e, opts);
          fchmodSync(fd, e.mode & 0o7777); // after chown, which clears setuid/setgid
          futimesSync(fd, e.mtime, e.mtime);
        } finally {
          closeSync(fd);
        }
        setXattrs(path, e);
        break;
      }
      case "symlink":
        removeExisting(path);
        symlinkSync(e.linkpath, path);
        if (opts.chown) chownChecked(() => lchownSync(path, e.uid, e.gid), rel, e, opts);
        lutimesSync(path, e.mtime, e.mtime);
        break;
      case "hardlink": {
        let targetRel: string;
        try {
          targetRel = normalizeEntryPath(e.linkpath);
          if (targetRel === "") throw new UnsafePathError("it points at the root");
          const target = preparePath(dir, targetRel);
          lstatSync(target);
          removeExisting(path);
          linkSync(target, path);
        } catch (err) {
          const why = err instanceof UnsafePathError ? err.message : `its target is not in this layer`;
          throw new LayerError(`refusing hardlink ${JSON.stringify(e.path)} → ${JSON.stringify(e.linkpath)}: ${why}`);
        }
        break;
      }
      case "fifo":
        removeExisting(path);
        mknod(path, "fifo");
        applyOwnerAndMode(path, e, opts, true);
        break;
      case "char":
      case "block":
        // mknod of real devices is refused without privileges; containers get /dev from the runtime.
        result.skippedDevices.push(rel);
        break;
      default:
        break;
    }
  }
  // Directory times last: creating their entries changed them.
  for (const [path, mtime] of dirTimes.reverse()) utimesSync(path, mtime, mtime);
  return result;
}

function applyOwnerAndMode(path: string, e: TarEntry, opts: ApplyOptions, setTimes: boolean): void {
  if (opts.chown) chownChecked(() => chownSync(path, e.uid, e.gid), path, e, opts);
  chmodSync(path, e.mode & 0o7777);
  setXattrs(path, e);
  if (setTimes) utimesSync(path, e.mtime, e.mtime);
}

function setXattrs(path: string, e: TarEntry): void {
  for (const [key, value] of Object.entries(e.xattrs)) {
    try {
      lsetxattr(path, key, value);
    } catch {
      // security.* and trusted.* need privileges the user namespace may not have; user.* always works.
    }
  }
}

function chownChecked(fn: () => void, rel: string, e: TarEntry, opts: ApplyOptions): void {
  try {
    fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EINVAL" && (e.uid >= opts.idLimit.uids || e.gid >= opts.idLimit.gids)) {
      throw new LayerError(
        `${rel} is owned by ${e.uid}:${e.gid}, outside the ids this user can map (uids 0-${opts.idLimit.uids - 1}, gids 0-${opts.idLimit.gids - 1}): add larger ranges to /etc/subuid and /etc/subgid`,
      );
    }
    throw err;
  }
}
