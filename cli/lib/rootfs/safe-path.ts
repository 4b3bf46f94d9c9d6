import { lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export class UnsafePathError extends Error {}

/**
 * Normalize a tar member name to a relative path inside the layer ("a/b"), or "" for the root.
 * Absolute names are taken relative to the root (as tar does); any ".." is refused outright.
 */
export function normalizeEntryPath(name: string): string {
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw new UnsafePathError(`${JSON.stringify(name)} has a ".." component`);
    parts.push(p);
  }
  return parts.join("/");
}

/**
 * Make sure every parent of `rel` inside `root` is a real directory (created 0755 when missing), so
 * that nothing is written through a symlink, then return the absolute path.
 */
export function preparePath(root: string, rel: string): string {
  const parts = rel.split("/");
  let cur = root;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = join(cur, parts[i]!);
    let st;
    try {
      st = lstatSync(cur);
    } catch {
      mkdirSync(cur, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink()) throw new UnsafePathError(`${JSON.stringify(rel)} goes through the symlink ${parts.slice(0, i + 1).join("/")}`);
    if (!st.isDirectory()) throw new UnsafePathError(`${JSON.stringify(rel)} goes through ${parts.slice(0, i + 1).join("/")}, which is not a directory`);
  }
  return join(root, rel);
}
