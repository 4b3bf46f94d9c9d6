import { join } from "node:path";
import type { Paths } from "../paths";
import { ownProcess } from "../sys/pid-start-time";

/**
 * Temp entries are named KIND-PID.START-...: the pid and start time of the rl process that owns them,
 * so the debris cleaner tells a dead owner from a live process that reuses its pid.
 */
export function tmpName(p: Paths, kind: string): string {
  return join(p.tmp, `${kind}-${ownerTag()}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`);
}

/** "PID.START" of this process, as temp names carry it. */
export function ownerTag(): string {
  const own = ownProcess();
  return `${own.pid}.${own.start}`;
}

/** The owner a temp name carries (start undefined in names written before start times were added). */
export function tmpOwner(name: string): { pid: number; start?: string } | undefined {
  const m = /^[a-z]+-(\d+)(?:\.(\d+))?-/.exec(name);
  return m ? { pid: Number(m[1]), start: m[2] } : undefined;
}
