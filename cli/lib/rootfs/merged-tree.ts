import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { lgetxattr } from "../sys/libc";

/** One entry of the merged view: where it is in the tree, the layer file it comes from, and its lstat. */
export interface MergedEntry {
  rel: string;
  source: string;
  st: Stats;
}

/** Xattrs that carry overlay's own bookkeeping (opaque markers), not the image's content. */
export const isOverlayXattr = (name: string) => /^(user|trusted)\.(overlay|fuseoverlayfs)\./.test(name);

const isWhiteout = (st: Stats) => st.isCharacterDevice() && st.rdev === 0;

/** The xattrs that mark a directory opaque, in the formats of overlayfs (rootless, rootful) and fuse-overlayfs. */
export const OPAQUE_XATTRS = ["user.overlay.opaque", "user.fuseoverlayfs.opaque", "trusted.overlay.opaque"];

/** An opaque marker's value says yes ("y"). */
export const isOpaqueValue = (v: Uint8Array | undefined) => v !== undefined && v[0] === 0x79;

function isOpaque(dir: string): boolean {
  for (const name of OPAQUE_XATTRS) if (lgetxattr(dir, name) !== undefined) return isOpaqueValue(lgetxattr(dir, name));
  return false;
}

/**
 * Which layer each visible name of one directory comes from, given that directory's listing in each
 * layer (top first; `opaque`: the directory is opaque there): names sorted, whited-out ones left out.
 * Whiteouts in fuse-overlayfs's `.wh.NAME` form and `.wh..wh..opq` are read here; char 0/0 whiteouts
 * are seen by the caller when it looks at the entry.
 */
export function visibleNames(layers: { names: string[]; opaque: boolean }[]): [string, number][] {
  const seen = new Map<string, number>(); // name → index of the topmost layer that has it (-1: whited out)
  for (let i = 0; i < layers.length; i++) {
    const { names, opaque } = layers[i]!;
    for (const n of names) if (n.startsWith(".wh.") && n !== ".wh..wh..opq" && !seen.has(n.slice(4))) seen.set(n.slice(4), -1);
    for (const n of names) if (!n.startsWith(".wh.") && !seen.has(n)) seen.set(n, i);
    if (opaque || names.includes(".wh..wh..opq")) break;
  }
  return [...seen.entries()].filter(([, i]) => i >= 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

/**
 * The file system an overlay of `dirsTopFirst` shows: every visible entry below the root, names sorted,
 * each directory before its children. Whiteouts (char 0/0 devices, or fuse-overlayfs's `.wh.NAME` files
 * where mknod fails) hide what is below them; an opaque directory (overlay.opaque=y xattr or a
 * `.wh..wh..opq` file) hides the directories of the same path below it.
 */
export function* mergedTree(dirsTopFirst: string[], rel = ""): Generator<MergedEntry> {
  const listings = dirsTopFirst.map((dir) => ({ names: readdirSync(dir), opaque: isOpaque(dir) }));
  for (const [name, i] of visibleNames(listings)) {
    const source = join(dirsTopFirst[i]!, name);
    const st = lstatSync(source);
    if (isWhiteout(st)) continue;
    const relPath = rel ? `${rel}/${name}` : name;
    yield { rel: relPath, source, st };
    if (!st.isDirectory()) continue;
    // A directory merges with the directories of the same path below it, down to an opaque one or a non-directory.
    const below = [source];
    for (let j = i + 1; j < dirsTopFirst.length && !isOpaque(source); j++) {
      const lower = lstatOrNull(join(dirsTopFirst[j]!, name));
      if (!lower) continue;
      if (!lower.isDirectory()) break;
      below.push(join(dirsTopFirst[j]!, name));
      if (isOpaque(join(dirsTopFirst[j]!, name))) break;
    }
    yield* mergedTree(below, relPath);
  }
}

/** Opaque by its xattr or by fuse-overlayfs's `.wh..wh..opq` file. */
const opaqueAnyway = (dir: string) => isOpaque(dir) || lstatOrNull(join(dir, ".wh..wh..opq")) !== null;

/**
 * The layer directories (top first) whose merge is directory `rel` of the image, or undefined where the
 * image has no directory there: a missing path, or a symlink or file at it or at one of its parents
 * (never followed: the image chooses them, and a link could point anywhere on the host).
 */
export function mergedDirAt(dirsTopFirst: string[], rel: string): string[] | undefined {
  let dirs = dirsTopFirst;
  for (const name of rel.split("/").filter((n) => n && n !== ".")) {
    if (name === "..") return undefined;
    const below: string[] = [];
    for (const dir of dirs) {
      if (lstatOrNull(join(dir, `.wh.${name}`))) break;
      const st = lstatOrNull(join(dir, name));
      if (st && (isWhiteout(st) || !st.isDirectory())) break;
      if (st) {
        below.push(join(dir, name));
        if (opaqueAnyway(join(dir, name))) break;
      }
      if (opaqueAnyway(dir)) break;
    }
    if (!below.length) return undefined;
    dirs = below;
  }
  return dirs;
}
