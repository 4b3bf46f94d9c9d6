/**
 * Entry of the rl executable (helpers/executable.ts compiles it): rl's own code while it is fresh, else
 * the sources, through cli/main.ts run by this same program as bun (BUN_BE_BUN).
 */
import { join } from "node:path";
import { staleReason } from "../helpers/executable";
import { PACKAGE_ROOT } from "./lib/package-root";
import { execve } from "./lib/sys/libc";
import { setStartedFrom } from "./lib/started-from";

/** Set by helpers/executable.ts when it compiles this file (unset when bun runs it directly: then stale). */
declare const RL_BUILD_ID: string | undefined;

const stale = staleReason(PACKAGE_ROOT, typeof RL_BUILD_ID === "string" ? RL_BUILD_ID : "");
if (stale) {
  const main = join(PACKAGE_ROOT, "cli/main.ts");
  execve(process.execPath, [process.execPath, main, ...process.argv.slice(2)], { ...process.env, BUN_BE_BUN: "1", RL_STALE_REASON: stale });
}
setStartedFrom(`executable ${process.execPath}`);
await import("./rl");
