import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { findImage } from "../store/images";
import { killPid } from "../sys/executor";
import { parseSignal } from "../sys/signals";
import type { ContainerRow } from "../store/containers-table";
import { thawContainer } from "../runtime/cgroup/container-cgroup";
import { markStoppedByUser } from "../runtime/restart-state";
import { untilProcessEnds, untilRecorded } from "./container-end";
import { processRuns } from "../store/container-state";

/** The signal that asks the container to stop: its image's StopSignal, else SIGTERM. */
export function stopSignal(d: Database, c: ContainerRow): number {
  const configured = findImage(d, c.image_id)?.config.config?.StopSignal;
  try {
    return configured ? parseSignal(configured) : 15;
  } catch {
    return 15; // an image's unknown StopSignal: podman falls back to SIGTERM too
  }
}

/**
 * Stop a container: its stop signal, then SIGKILL after `timeoutSec` (0: at once); returns once its end
 * is recorded. A container that is not running is left as it is (and its restart policy starts it no more).
 */
export async function stopContainer(d: Database, p: Paths, c: ContainerRow, timeoutSec: number): Promise<void> {
  // Its restart policy leaves it stopped: also one that ended and waits out the back-off before its restart.
  markStoppedByUser(p, c.id);
  if (!processRuns(c)) return;
  if (timeoutSec > 0) {
    killPid(c.pid!, stopSignal(d, c));
    // A paused container handles its stop signal once thawed (SIGKILL needs no thaw, but its cgroup must not stay frozen).
    thawContainer(d, c.id);
    if (await untilProcessEnds(c, timeoutSec * 1000)) {
      await untilRecorded(d, p, c.id);
      return;
    }
  }
  killPid(c.pid!, 9);
  thawContainer(d, c.id);
  await untilProcessEnds(c, Infinity);
  await untilRecorded(d, p, c.id);
}
