import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { AT_FDCWD, closeFd, O, openat2 } from "../sys/libc";
import { closeLevels, openLevels } from "./confined-tree";
import { copyMergedTree, mergedDirMeta, sameOwner, setDirMeta, type Owner } from "./copy-tree";

/**
 * The vfs storage driver: a container's root filesystem as a plain copy of the merged view of its
 * layers (`layerDirs` bottom first, as overlay stacks them), made through descriptors (copy-tree.ts).
 * Runs inside the user namespace so owners are kept. `dest` is created fresh.
 */
export function flattenLayers(layerDirs: string[], dest: string, owner: Owner = sameOwner): void {
  mkdirSync(dest, { mode: 0o755 });
  const fd = openat2(AT_FDCWD, dest, O.RDONLY | O.DIRECTORY | O.NOFOLLOW | O.CLOEXEC, 0, 0);
  try {
    const levels = openLevels([...layerDirs].reverse());
    try {
      const meta = mergedDirMeta(levels);
      copyMergedTree(levels, fd, owner);
      setDirMeta(fd, meta, owner, dest);
    } finally {
      closeLevels(levels);
    }
  } finally {
    closeFd(fd);
  }
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
