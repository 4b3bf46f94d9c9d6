import { renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Replace `path` with `data` in one step: written to a new temp file beside it, then renamed over it.
 * The temp file is created with O_EXCL, so a name planted there (a symlink to a file of the user's, say)
 * makes this fail instead of being written through; rename replaces a link, it never follows one.
 */
export function atomicWriteFile(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  writeFileSync(tmp, data, { flag: "wx", mode });
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
