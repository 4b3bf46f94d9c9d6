import { readFileSync } from "node:fs";
import { atomicWriteFile } from "../atomic-write";
import type { Paths } from "../paths";
import { healthFilePath } from "../store/exit-file";

/** State.Health as docker and podman show it: the last results since the container started. */
export interface HealthState {
  Status: "starting" | "healthy" | "unhealthy";
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

/** A container's healthcheck results, or undefined (none yet, or no healthcheck). */
export function readHealth(p: Paths, id: string): HealthState | undefined {
  try {
    return JSON.parse(readFileSync(healthFilePath(p, id), "utf8")) as HealthState;
  } catch {
    return undefined;
  }
}

export function writeHealth(p: Paths, id: string, state: HealthState): void {
  atomicWriteFile(healthFilePath(p, id), JSON.stringify(state));
}
