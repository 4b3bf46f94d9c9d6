import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";

/** Where a detached container's monitor writes how it ended (helpers/monitor.c), in its runtime dir. */
export const exitFilePath = (p: Paths, id: string) => join(p.runtime, id, "exit");

/** How a detached container ended, as its monitor wrote it: "CODE FINISHED_MS"; undefined while it runs. */
export function readExitFile(p: Paths, id: string): { code: number; finished: number } | undefined {
  let text: string;
  try {
    text = readFileSync(exitFilePath(p, id), "utf8");
  } catch {
    return undefined;
  }
  const m = /^(\d{1,3}) (\d{1,15})\n$/.exec(text);
  return m ? { code: Number(m[1]), finished: Number(m[2]) } : undefined;
}

/** A detached container's healthcheck results since it started (State.Health), in its runtime dir. */
export const healthFilePath = (p: Paths, id: string) => join(p.runtime, id, "health.json");

/** A container's log (k8s-file, written by its monitor), in its directory of the store. */
export const logPath = (p: Paths, id: string) => join(p.containers, id, "ctr.log");
