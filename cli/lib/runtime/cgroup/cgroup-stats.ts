import { readFileSync } from "node:fs";
import { join } from "node:path";

// What `rl stats` reads of a container's cgroup (and of its network namespace), as numbers. A file the
// cgroup lacks (a controller not enabled for it, no PSI in the kernel) reads as zero or null.

/** One line of a pressure file: the share of time (percent) some or all tasks stalled, and the total in µs. */
export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  total: number;
}

/** A *.pressure file: `full` is absent where the kernel has no such line. */
export interface Pressure {
  some: PressureLine;
  full: PressureLine | null;
}

export interface CgroupSample {
  /** When it was read: performance.now() (ms), for rates over the interval. */
  at: number;
  /** cpu.stat: usage_usec, user_usec, system_usec, nr_periods, nr_throttled, throttled_usec. */
  cpu: { usageUsec: number; userUsec: number; systemUsec: number; nrPeriods: number; nrThrottled: number; throttledUsec: number };
  /** memory.current, less memory.stat inactive_file (as docker and podman count it); max: null for "max". */
  memory: { usage: number; max: number | null; events: { low: number; high: number; max: number; oom: number; oomKill: number } } | null;
  /** pids.current, or the tasks in cgroup.threads without the pids controller. */
  pids: number;
  /** io.stat rbytes and wbytes over every device. */
  io: { read: number; write: number };
  /** cpu.pressure, memory.pressure, io.pressure; null without PSI. */
  pressure: { cpu: Pressure | null; memory: Pressure | null; io: Pressure | null } | null;
}

function read(dir: string, file: string): string | null {
  try {
    return readFileSync(join(dir, file), "utf8");
  } catch {
    return null;
  }
}

/** "key value" lines (cpu.stat, memory.stat, memory.events) as numbers. */
export function flatKeyed(text: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? "").split("\n")) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N ..." per device, summed over the devices. */
export function ioBytes(text: string | null): { read: number; write: number } {
  let read = 0, write = 0;
  for (const line of (text ?? "").split("\n")) {
    for (const [, k, v] of line.matchAll(/\b(rbytes|wbytes)=(\d+)/g)) {
      if (k === "rbytes") read += Number(v);
      else write += Number(v);
    }
  }
  return { read, write };
}

/** A *.pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and a "full" line), or null. */
export function parsePressure(text: string | null): Pressure | null {
  if (!text) return null;
  const lines: Record<string, PressureLine> = {};
  for (const m of text.matchAll(/^(some|full) avg10=([\d.]+) avg60=([\d.]+) avg300=([\d.]+) total=(\d+)$/gm)) {
    lines[m[1]!] = { avg10: Number(m[2]), avg60: Number(m[3]), avg300: Number(m[4]), total: Number(m[5]) };
  }
  return lines.some ? { some: lines.some, full: lines.full ?? null } : null;
}

/** /proc/PID/net/dev: bytes received and sent on every interface but lo, or null when unreadable. */
export function netBytes(text: string | null): { rx: number; tx: number } | null {
  if (text === null) return null;
  let rx = 0, tx = 0;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0 || line.slice(0, colon).trim() === "lo") continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (f.length < 9 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[8]!)) continue;
    rx += Number(f[0]);
    tx += Number(f[8]);
  }
  return { rx, tx };
}

export const readNetDev = (pid: number) => netBytes(read("/proc", `${pid}/net/dev`));

/** The container's cgroup `dir` now. */
export function sampleCgroup(dir: string): CgroupSample {
  const at = performance.now();
  const cpu = flatKeyed(read(dir, "cpu.stat"));
  const n = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
  const current = read(dir, "memory.current");
  let memory: CgroupSample["memory"] = null;
  if (current !== null) {
    const max = (read(dir, "memory.max") ?? "max").trim();
    const events = flatKeyed(read(dir, "memory.events"));
    memory = {
      usage: Math.max(0, Number(current) - n(flatKeyed(read(dir, "memory.stat")), "inactive_file")),
      max: /^\d+$/.test(max) ? Number(max) : null,
      events: { low: n(events, "low"), high: n(events, "high"), max: n(events, "max"), oom: n(events, "oom"), oomKill: n(events, "oom_kill") },
    };
  }
  const pidsCurrent = read(dir, "pids.current");
  const pids = pidsCurrent !== null ? Number(pidsCurrent) : (read(dir, "cgroup.threads") ?? "").split("\n").filter(Boolean).length;
  const psi = { cpu: parsePressure(read(dir, "cpu.pressure")), memory: parsePressure(read(dir, "memory.pressure")), io: parsePressure(read(dir, "io.pressure")) };
  return {
    at,
    cpu: {
      usageUsec: n(cpu, "usage_usec"), userUsec: n(cpu, "user_usec"), systemUsec: n(cpu, "system_usec"),
      nrPeriods: n(cpu, "nr_periods"), nrThrottled: n(cpu, "nr_throttled"), throttledUsec: n(cpu, "throttled_usec"),
    },
    memory,
    pids,
    io: ioBytes(read(dir, "io.stat")),
    pressure: psi.cpu || psi.memory || psi.io ? psi : null,
  };
}
