#!/usr/bin/env bun
/**
 * `bun cli/main.ts ARGS` is `rl ARGS`: it runs the rl executable (helpers/build/rl) while that is fresh
 * (helpers/executable.ts explains when), else the sources; `rl info` says which and why.
 */
import { EXECUTABLE, staleReason } from "../helpers/executable";
import { execve } from "./lib/sys/libc";
import { setStartedFrom } from "./lib/started-from";

// The executable hands over to this file, with its reason, when it is not fresh.
let stale = process.env.RL_STALE_REASON ?? staleReason();
delete process.env.RL_STALE_REASON;
delete process.env.BUN_BE_BUN;
if (!stale) {
  try {
    execve(EXECUTABLE, [EXECUTABLE, ...process.argv.slice(2)], process.env);
  } catch (err) {
    stale = `it cannot run: ${(err as Error).message}`;
  }
}
setStartedFrom(`sources (the executable is not used: ${stale})`);
await import("./rl");
