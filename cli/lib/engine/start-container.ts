import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { findContainer, type ContainerRow } from "../store/containers-table";
import { runAttached, runDetached } from "./run-detached";
import { loadConfig } from "../runtime/stored-config";
import { processRuns } from "../store/container-state";
import { stopContainer } from "./stop-container";
import { clearRestartState } from "../runtime/restart-state";

/**
 * Start a stopped container (exited, or made by rl create) with the options it was made with, under a
 * monitor; `attach`: rl stays attached to it (its output, and stdin with `interactive`) and returns its
 * exit code, or 0 when the user detaches.
 */
export async function startContainer(p: Paths, c: ContainerRow, o: { attach: boolean; interactive: boolean; detachKeys?: readonly number[]; byPolicy?: boolean }): Promise<number> {
  const config = loadConfig(c);
  if (!o.byPolicy) clearRestartState(p, c.id);
  // Attached, it runs under its monitor all the same: the user can detach and it goes on.
  const options = { ...config, detach: true, interactive: config.interactive || o.interactive };
  if (o.attach) return runAttached(options, { tty: config.tty, stdin: o.interactive, detachKeys: o.detachKeys ?? [] }, c);
  await runDetached(options, c);
  return 0;
}

/** Stop a container if it runs (its stop signal, SIGKILL after `timeoutSec`), then start it in the background. */
export async function restartContainer(d: Database, p: Paths, c: ContainerRow, timeoutSec: number): Promise<void> {
  if (processRuns(c)) await stopContainer(d, p, c, timeoutSec);
  const stopped = findContainer(d, c.id);
  if (!stopped) throw new RlError(`cannot start container ${c.name} again: it was removed when it stopped (--rm)`);
  await startContainer(p, stopped, { attach: false, interactive: false });
}
