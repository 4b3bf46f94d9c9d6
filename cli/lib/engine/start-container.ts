import { RlError } from "../errors";
import type { Session } from "./session";
import { containerRecord, findContainer, type ContainerRow } from "../store/containers-table";
import { runAttached, runDetached } from "./run-detached";
import { loadConfig } from "../runtime/stored-config";
import { processRuns } from "../store/container-state";
import { stopContainer } from "./stop-container";
import { untilRecorded } from "./container-end";
import { clearRestartState } from "../runtime/restart-state";

/**
 * Start a stopped container (exited, or made by rl create) with the options it was made with, under a
 * monitor; `attach`: rl stays attached to it (its output, and stdin with `interactive`) and returns its
 * exit code, or 0 when the user detaches.
 */
export async function startContainer(s: Session, row: ContainerRow, o: { attach: boolean; interactive: boolean; detachKeys?: readonly number[]; byPolicy?: boolean }): Promise<number> {
  // Its process ended a moment ago and its end is still being recorded (its monitor's exit command): wait
  // for that. (`row` is as listed: exited already when the monitor wrote the exit file.)
  const recorded = containerRecord(s.d, row.id);
  const c = recorded?.state === "running" || recorded?.state === "removing" ? await untilRecorded(s.d, s.p, row.id) : row;
  if (!c) throw new RlError(`cannot start container ${row.name}: it was removed when it stopped (--rm)`);
  const config = loadConfig(c);
  if (!o.byPolicy) clearRestartState(s.p, c.id);
  // Attached, it runs under its monitor all the same: the user can detach and it goes on.
  const options = { ...config, detach: true, interactive: config.interactive || o.interactive };
  if (o.attach) return runAttached(options, { tty: config.tty, stdin: o.interactive, detachKeys: o.detachKeys ?? [] }, s, c);
  await runDetached(options, s, c);
  return 0;
}

/** Stop a container if it runs (its stop signal, SIGKILL after `timeoutSec`), then start it in the background. */
export async function restartContainer(s: Session, c: ContainerRow, timeoutSec: number): Promise<void> {
  if (processRuns(c)) await stopContainer(s.d, s.p, c, timeoutSec);
  const stopped = findContainer(s.d, c.id);
  if (!stopped) throw new RlError(`cannot start container ${c.name} again: it was removed when it stopped (--rm)`);
  await startContainer(s, stopped, { attach: false, interactive: false });
}
