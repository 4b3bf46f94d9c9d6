import { chmodSync, copyFileSync, constants, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readlinkSync, symlinkSync, utimesSync, type Stats } from "node:fs";
import { join } from "node:path";
import { lgetxattrs, lsetxattr, mknod } from "../sys/libc";
import { isOverlayXattr, mergedTree } from "./merged-tree";

/** Owner, mode, xattrs (not overlay's own) and times of `src` onto `dest` (chown first: it clears setuid bits). */
function copyMeta(src: string, dest: string, st: Stats): void {
  lchownSync(dest, st.uid, st.gid);
  for (const [name, value] of lgetxattrs(src)) if (!isOverlayXattr(name)) lsetxattr(dest, name, value);
  if (st.isSymbolicLink()) {
    lutimesSync(dest, st.atime, st.mtime);
    return;
  }
  chmodSync(dest, st.mode & 0o7777);
  utimesSync(dest, st.atime, st.mtime);
}

/**
 * The vfs storage driver: a container's root filesystem as a plain copy of the merged view of its
 * layers (`layerDirs` bottom first, as overlay stacks them). Runs inside the user namespace so owners
 * are kept. `dest` is created fresh and only ever holds directories this function made, so nothing is
 * written through a symlink.
 */
export function flattenLayers(layerDirs: string[], dest: string): void {
  const topFirst = [...layerDirs].reverse();
  mkdirSync(dest, { mode: 0o755 });
  const links = new Map<string, string>(); // "dev:ino" → first copy, so hardlinks stay hardlinks
  const dirs: [string, string, Stats][] = [];
  for (const { rel, source, st } of mergedTree(topFirst)) {
    const out = join(dest, rel);
    if (st.isDirectory()) {
      mkdirSync(out, { mode: 0o700 });
      dirs.push([source, out, st]);
      continue;
    }
    const key = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? links.get(key) : undefined;
    if (first) {
      linkSync(first, out);
      continue;
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(source), out);
    else if (st.isFIFO()) mknod(out, "fifo");
    else if (st.isFile()) copyFileSync(source, out, constants.COPYFILE_FICLONE);
    else continue; // sockets and devices are never in a stored layer
    copyMeta(source, out, st);
    if (st.nlink > 1) links.set(key, out);
  }
  // Directories last, deepest first, so their modes and mtimes survive the entries written into them.
  for (const [source, out, st] of dirs.reverse()) copyMeta(source, out, st);
  if (topFirst.length) copyMeta(topFirst[0]!, dest, lstatSync(topFirst[0]!));
}
