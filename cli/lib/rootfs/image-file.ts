import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Read a small file of the image as its merged root shows it, straight from the layer directories
 * (top layer first), honouring overlay whiteouts. Undefined when absent or unreadable.
 */
export function readImageFile(layerDirsTopFirst: string[], rel: string): string | undefined {
  for (const dir of layerDirsTopFirst) {
    const path = join(dir, rel);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isCharacterDevice() && st.rdev === 0) return undefined; // whiteout
    if (!st.isFile()) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  }
  return undefined;
}
