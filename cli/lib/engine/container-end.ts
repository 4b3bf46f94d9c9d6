import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { processRuns } from "../store/container-state";
import { sweepContainers } from "../runtime/sweep-stale";
import { containerRecord, findContainer, type ContainerRow } from "../store/containers-table";

const POLL_MS = 10;

/** Wait until the container's first process is gone, at most `ms` (Infinity: no limit); whether it is. */
export async function untilProcessEnds(c: ContainerRow, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processRuns(c)) {
    if (Date.now() >= deadline) return false;
    await Bun.sleep(POLL_MS);
  }
  return true;
}

/** How long a recorder may take before the container is taken as it is (a full disk stops every record). */
const RECORD_MS = 10_000;

/**
 * Wait until the end of a container whose process is gone is recorded (by its rl run, its monitor's exit
 * command, or a sweep when neither is left) and return the record: undefined once it is removed (--rm).
 * Past RECORD_MS, the container as it is (listContainers' reading: the code its monitor wrote, or killed).
 */
export async function untilRecorded(d: Database, p: Paths, id: string): Promise<ContainerRow | undefined> {
  for (let swept = false, waited = 0; ; waited += POLL_MS) {
    const row = containerRecord(d, id);
    if (!row) return undefined;
    if (row.state === "exited") return row;
    if (waited >= RECORD_MS) return findContainer(d, id);
    // The sweep leaves alone a container whose rl or monitor still runs: those record it themselves.
    if (!swept && waited >= 1000) {
      await sweepContainers(d, p);
      swept = true;
    }
    await Bun.sleep(POLL_MS);
  }
}
