import { RlError } from "../errors";
import type { Paths } from "../paths";
import { strerror } from "../sys/errno";
import { connectMonitor } from "../sys/monitor";
import { attachContainer, lostAttach } from "../runtime/attach-client";
import { containerRunDir, type ContainerRow } from "../store/containers-table";
import { processRuns } from "../store/container-state";
import { loadConfig } from "../runtime/stored-config";

/** rl attach: what the user asked for. */
export interface AttachRequest {
  /** Send rl's stdin (when the container was made with -i). */
  stdin: boolean;
  detachKeys: readonly number[];
  /** Send the signals rl receives on to the container. */
  sigProxy: boolean;
}

/**
 * Attach to a running container through its monitor until it exits (its exit code) or the user
 * detaches (0). Only a container with a monitor (run -d, rl start) can be attached: one in the
 * foreground of an `rl run` has that rl's terminal.
 */
export async function attachRunning(p: Paths, c: ContainerRow, r: AttachRequest): Promise<number> {
  if (!processRuns(c)) throw new RlError(`cannot attach to container ${c.name}: it is not running (rl start -a starts it attached)`);
  if (c.monitor_pid === null) throw new RlError(`cannot attach to container ${c.name}: it runs in the foreground of the rl run that started it; only containers started with rl run -d or rl start can be attached`);
  const fd = connectMonitor(containerRunDir(p, c.id));
  if (fd < 0) {
    // ENOENT, ECONNREFUSED: it ended meanwhile (or its monitor is gone: the next sweep records it).
    if (processRuns(c)) throw new RlError(`cannot attach to container ${c.name}: cannot reach its monitor: ${strerror(-fd)}`);
    throw new RlError(`cannot attach to container ${c.name}: it is not running`);
  }
  const config = loadConfig(c);
  const end = await attachContainer(fd, { tty: config.tty, stdin: r.stdin && config.interactive, detachKeys: r.detachKeys, signalsTo: r.sigProxy && !config.tty ? c.pid! : undefined });
  if ("detached" in end) return 0;
  if ("lost" in end) throw lostAttach(c.name, processRuns(c));
  return end.exited;
}
