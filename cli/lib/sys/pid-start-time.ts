import { readFileSync } from "node:fs";

/**
 * Start time of a live process (field 22 of /proc/PID/stat), to tell it from a later one with the same
 * pid. Undefined for a zombie or a process that is gone.
 */
export function pidStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[0] === "Z" || fields[0] === "X" ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

let own: { pid: number; start: string } | undefined;

/** This process: its pid and start time, how rl names the owner of temp files and pending store writes. */
export function ownProcess(): { pid: number; start: string } {
  own ??= { pid: process.pid, start: pidStartTime(process.pid) ?? "0" };
  return own;
}

/** Whether the process `pid` started at `start` still runs (a reused pid is another process). */
export function processAlive(pid: number, start: string): boolean {
  return pidStartTime(pid) === start;
}
