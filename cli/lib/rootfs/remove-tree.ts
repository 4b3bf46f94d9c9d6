import { chmodSync, lstatSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** rm -rf that also gets through directories left mode 000 (overlay's work/work). */
export function removeTree(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch {}
  const fix = (p: string) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (!st.isDirectory()) return;
    chmodSync(p, 0o700);
    for (const n of readdirSync(p)) fix(join(p, n));
  };
  fix(path);
  rmSync(path, { recursive: true, force: true });
}
