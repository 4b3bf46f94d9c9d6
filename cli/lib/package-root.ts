import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * rl's package directory (where package.json is). Files that ship beside the sources (the C helpers,
 * the WASM core, the user-namespace worker) are found from here, so the same code works from cli/ and
 * from the bytecode bundle in helpers/build/.
 */
export const PACKAGE_ROOT = findRoot(import.meta.dir);

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`Cannot find rl's package.json above ${from}`);
  }
}
