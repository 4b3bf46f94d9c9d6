/** The `rl` command the benchmarks time: package.json's "bin", the executable `bun install` builds. */
import { EXECUTABLE, staleReason } from "../helpers/executable";

export const RL = EXECUTABLE;

/** What the timed rl runs: its executable, or (after an edit) the sources, and why. */
export function rlStartMode(): string {
  const stale = staleReason();
  return stale ? `sources (${stale}; run bun run build)` : "executable";
}
