import { pidStartTime } from "../sys/pid-start-time";
import type { ContainerRow } from "./containers-table";

/** Whether a detached container's monitor still runs (its exit command then records the container's end). */
export function monitorAlive(r: ContainerRow): boolean {
  return r.monitor_pid !== null && pidStartTime(r.monitor_pid) === r.monitor_start;
}

/** Whether the rl that runs a foreground container still runs (it records the container's end). */
export function runnerAlive(r: ContainerRow): boolean {
  return r.runner_pid !== null && pidStartTime(r.runner_pid) === r.runner_start;
}

/** Whether the container's recorded process (or, while it is created, the rl creating it) still runs. */
export function recordedProcessAlive(r: ContainerRow): boolean {
  return r.pid !== null && r.pid_start !== null && pidStartTime(r.pid) === r.pid_start;
}

/** Whether the container runs: recorded as running, and that process is still the one recorded. */
export function processRuns(r: ContainerRow): boolean {
  return r.state === "running" && recordedProcessAlive(r);
}

/** A container's state as ps shows it: a running one whose cgroup is frozen (pausedContainers) is paused. */
export const shownState = (r: ContainerRow, paused: Set<string>): string => (r.state === "running" && paused.has(r.id) ? "paused" : r.state);

/**
 * Whether no process carries the container on: its recorded one is gone. A container being created has
 * the rl creating it recorded (insertContainer, forgetPid); a record with no process (an older rl's,
 * between two attempts) gets a minute.
 */
export function abandoned(r: ContainerRow): boolean {
  const fresh = r.state === "created" && r.pid === null && Date.now() - r.created < 60_000;
  return !recordedProcessAlive(r) && !fresh && !monitorAlive(r) && !runnerAlive(r) && !waitsForStart(r);
}

/** Made by rl create (its configuration kept, no process): it waits for rl start. */
export const waitsForStart = (r: ContainerRow) => r.state === "created" && r.pid === null && r.config !== null;

/** An rl is creating it now (its record is made before its files): not a stopped container yet. */
export const beingCreated = (r: ContainerRow) => r.state === "created" && !abandoned(r) && !waitsForStart(r);
