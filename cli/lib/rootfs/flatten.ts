import { chmodSync, copyFileSync, constants, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, utimesSync, type Stats } from "node:fs";
import { join } from "node:path";
import { lgetxattrs, lsetxattr, mknod } from "../sys/libc";

const OPAQUE = "user.overlay.opaque";

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** Owner, mode, xattrs and times of `src` onto `dest` (chown first: it clears setuid bits). */
function copyMeta(src: string, dest: string, st: Stats): void {
  lchownSync(dest, st.uid, st.gid);
  for (const [name, value] of lgetxattrs(src)) if (name !== OPAQUE) lsetxattr(dest, name, value);
  if (st.isSymbolicLink()) {
    lutimesSync(dest, st.atime, st.mtime);
    return;
  }
  chmodSync(dest, st.mode & 0o7777);
  utimesSync(dest, st.atime, st.mtime);
}

/**
 * The vfs storage driver: a container's root filesystem as a plain copy of its layers, applied bottom
 * first with overlay semantics (a char 0/0 whiteout deletes, an opaque directory hides what is below).
 * Runs inside the user namespace so owners are kept. `dest` is created fresh; nothing is followed
 * through a symlink: a parent that is not a real directory is replaced before anything goes in it.
 */
export function flattenLayers(layerDirs: string[], dest: string): void {
  mkdirSync(dest, { mode: 0o755 });
  for (const layer of layerDirs) {
    const links = new Map<string, string>(); // "dev:ino" → first copy, so hardlinks stay hardlinks
    const walk = (rel: string) => {
      const dirs: [string, string, Stats][] = [];
      for (const name of readdirSync(join(layer, rel))) {
        const src = join(layer, rel, name), out = join(dest, rel, name);
        const st = lstatSync(src);
        const have = lstatOrUndefined(out);
        if (isWhiteout(st)) {
          if (have) rmSync(out, { recursive: true, force: true });
          continue;
        }
        if (st.isDirectory()) {
          const opaque = new TextDecoder().decode(lgetxattrs(src).get(OPAQUE)) === "y";
          const replace = have !== undefined && (!have.isDirectory() || opaque);
          if (replace) rmSync(out, { recursive: true, force: true });
          if (!have || replace) mkdirSync(out, { mode: 0o700 });
          walk(join(rel, name));
          dirs.push([src, out, st]);
          continue;
        }
        if (have) rmSync(out, { recursive: true, force: true });
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          linkSync(first, out);
          continue;
        }
        if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), out);
        else if (st.isFIFO()) mknod(out, "fifo");
        else if (st.isFile()) copyFileSync(src, out, constants.COPYFILE_FICLONE);
        else continue; // sockets and devices are never in a stored layer
        copyMeta(src, out, st);
        if (st.nlink > 1) links.set(key, out);
      }
      // Directories last, so their mtimes survive the entries written into them.
      for (const [src, out, st] of dirs) copyMeta(src, out, st);
    };
    walk("");
    copyMeta(layer, dest, lstatSync(layer));
  }
}
