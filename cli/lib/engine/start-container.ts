import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { findContainer, type ContainerRow } from "../store/containers-table";
import { runContainer } from "../runtime/run";
import { loadConfig } from "../runtime/stored-config";
import { processRuns } from "../store/container-state";
import { stopContainer } from "./stop-container";
import { clearRestartState } from "../runtime/restart-state";

/**
 * Start a stopped container (exited, or made by rl create) with the options it was made with: in the
 * background under a monitor, or attached (`attach`: rl waits, relays its stdio and returns its exit code).
 */
export async function startContainer(p: Paths, c: ContainerRow, o: { attach: boolean; interactive: boolean; byPolicy?: boolean }): Promise<number> {
  const config = loadConfig(c);
  if (!o.byPolicy) clearRestartState(p, c.id);
  return runContainer({ ...config, detach: !o.attach, interactive: config.interactive || o.interactive }, { existing: c });
}

/** Stop a container if it runs (its stop signal, SIGKILL after `timeoutSec`), then start it in the background. */
export async function restartContainer(d: Database, p: Paths, c: ContainerRow, timeoutSec: number): Promise<void> {
  if (processRuns(c)) await stopContainer(d, p, c, timeoutSec);
  const stopped = findContainer(d, c.id);
  if (!stopped) throw new RlError(`cannot start container ${c.name} again: it was removed when it stopped (--rm)`);
  await startContainer(p, stopped, { attach: false, interactive: false });
}
