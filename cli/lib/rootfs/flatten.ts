import { chmodSync, closeSync, copyFileSync, constants, fstatSync, linkSync, lchownSync, lstatSync, lutimesSync, mkdirSync, openSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeSync, type Stats } from "node:fs";
import { join } from "node:path";
import { lgetxattrs, lsetxattr, mknod } from "../sys/libc";
import { isOverlayXattr, mergedTree } from "./merged-tree";

/** Owner, mode, xattrs (not overlay's own) and times of `src` onto `dest` (chown first: it clears setuid bits). */
function copyMeta(src: string, dest: string, st: Stats, owner: Owner): void {
  lchownSync(dest, ...owner(st.uid, st.gid));
  for (const [name, value] of lgetxattrs(src)) if (!isOverlayXattr(name)) lsetxattr(dest, name, value);
  if (st.isSymbolicLink()) {
    lutimesSync(dest, st.atime, st.mtime);
    return;
  }
  chmodSync(dest, st.mode & 0o7777);
  utimesSync(dest, st.atime, st.mtime);
}

/** The owner a copy gets, from the stored one (the same, but where the container maps ids otherwise). */
export type Owner = (uid: number, gid: number) => [number, number];

/**
 * The vfs storage driver: a container's root filesystem as a plain copy of the merged view of its
 * layers (`layerDirs` bottom first, as overlay stacks them). Runs inside the user namespace so owners
 * are kept. `dest` is created fresh and only ever holds directories this function made, so nothing is
 * written through a symlink.
 */
export function flattenLayers(layerDirs: string[], dest: string, owner: Owner = (u, g) => [u, g]): void {
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
    copyMeta(source, out, st, owner);
    if (st.nlink > 1) links.set(key, out);
  }
  // Directories last, deepest first, so their modes and mtimes survive the entries written into them.
  for (const [source, out, st] of dirs.reverse()) copyMeta(source, out, st, owner);
  if (topFirst.length) copyMeta(topFirst[0]!, dest, lstatSync(topFirst[0]!), owner);
}

/**
 * Add a line to the copy's etc/passwd or etc/group (--userns=keep-id: the user's entry). `dest` is a copy
 * nothing runs in yet, but its etc may be an image's symlink: nothing is written through one.
 */
export function appendEtcLine(dest: string, file: "passwd" | "group", line: string): void {
  const etc = join(dest, "etc");
  try {
    if (!lstatSync(etc).isDirectory()) return;
  } catch {
    return;
  }
  let fd: number;
  try {
    fd = openSync(join(etc, file), constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
  } catch {
    return; // none in the image, or a symlink: left as the image has it
  }
  try {
    if (!fstatSync(fd).isFile()) return;
    const size = fstatSync(fd).size;
    const text = size > 0 && readFileSync(join(etc, file), "utf8").endsWith("\n") === false ? `\n${line}\n` : `${line}\n`;
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
