import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { atomicWriteFile } from "../atomic-write";
import { join } from "node:path";
import type { Paths } from "../paths";
import { containerRunDir } from "../store/containers-table";

// What a restart policy needs to know about a detached container's last runs, kept with its runtime
// state (a reboot forgets it, as it forgets the container's processes).

const stoppedFile = (p: Paths, id: string) => join(containerRunDir(p, id), "stopped-by-user");
const countFile = (p: Paths, id: string) => join(containerRunDir(p, id), "restarts");
const backoffFile = (p: Paths, id: string) => join(containerRunDir(p, id), "backoff");

/** rl stop: its restart policy must not start it again. */
export function markStoppedByUser(p: Paths, id: string): void {
  try {
    writeFileSync(stoppedFile(p, id), "", { flag: "w", mode: 0o600 });
  } catch {} // its runtime dir is gone: it ended already, and nothing restarts it
}

export function stoppedByUser(p: Paths, id: string): boolean {
  try {
    readFileSync(stoppedFile(p, id));
    return true;
  } catch {
    return false;
  }
}

const readCount = (file: string): number => {
  try {
    return Number(readFileSync(file, "utf8")) || 0;
  } catch {
    return 0;
  }
};

/** How often its policy restarted it since the user last started it. */
export const restartCount = (p: Paths, id: string) => readCount(countFile(p, id));

export function setRestartCount(p: Paths, id: string, n: number): void {
  atomicWriteFile(countFile(p, id), String(n));
}

/** Its restarts since the back-off was last reset (restartBackoff's step). */
export const backoffStep = (p: Paths, id: string) => readCount(backoffFile(p, id));

export function setBackoffStep(p: Paths, id: string, n: number): void {
  atomicWriteFile(backoffFile(p, id), String(n));
}

/** A start by the user: no stop to remember, no restarts counted. */
export function clearRestartState(p: Paths, id: string): void {
  rmSync(stoppedFile(p, id), { force: true });
  rmSync(countFile(p, id), { force: true });
  rmSync(backoffFile(p, id), { force: true });
}
