import { existsSync } from "node:fs";
import type { Paths } from "../paths";
import type { Session } from "./session";
import { cleanupDetached } from "../runtime/finish-ended";
import { containerRunDir, findContainer, type ContainerRow } from "../store/containers-table";
import { restartBackoff, wantsRestart } from "../runtime/restart-policy";
import { backoffStep, restartCount, setBackoffStep, setRestartCount, stoppedByUser } from "../runtime/restart-state";
import { loadConfig } from "../runtime/stored-config";
import { startContainer } from "./start-container";

/**
 * A detached container's exit command (`rl __cleanup ID`, which its monitor execs once it ended): record
 * its end, then apply its restart policy (after docker's back-off; the user may remove or start it
 * meanwhile, and then this leaves it be).
 */
export async function afterExit(s: Session, id: string): Promise<void> {
  const { d, p } = s;
  await cleanupDetached(d, p, id);
  const c = findContainer(d, id);
  if (!c || !restartPending(p, c)) return;
  const restarts = restartCount(p, id);
  const backoff = restartBackoff(backoffStep(p, id), c.started !== null && c.finished !== null ? c.finished - c.started : 0);
  await Bun.sleep(backoff.delayMs);
  const now = findContainer(d, id);
  if (now?.state !== "exited" || stoppedByUser(p, id)) return;
  setRestartCount(p, id, restarts + 1);
  setBackoffStep(p, id, backoff.next);
  await startContainer(s, now, { attach: false, interactive: false, byPolicy: true });
}

/** Whether an exited container's restart policy starts it again (its exit command waits out the back-off; a reboot forgets it). */
export function restartPending(p: Paths, c: ContainerRow): boolean {
  return c.state === "exited" && !!c.config && existsSync(containerRunDir(p, c.id)) && wantsRestart(loadConfig(c).restart, c.exit_code ?? 0, restartCount(p, c.id), stoppedByUser(p, c.id));
}
