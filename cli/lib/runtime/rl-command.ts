import { existsSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../package-root";
import { EXECUTABLE } from "../../../helpers/executable";

/** How the monitor runs rl again for a container's exit command: the executable, which hands over to the sources when stale. */
export function rlCommand(): string[] {
  return existsSync(EXECUTABLE) ? [EXECUTABLE] : [process.execPath, join(PACKAGE_ROOT, "cli/main.ts")];
}
