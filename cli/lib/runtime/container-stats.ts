/**
 * `rl stats`: a container's use of CPU, memory, network, disk and pids from two samples of its cgroup,
 * with podman's field names (its table, JSON and template fields), plus what podman does not show: CPU
 * throttling (cpu.stat), memory.events and pressure stall information (PSI).
 */
import { totalmem } from "node:os";
import { goBytesSize, goDuration, goHumanSize } from "../format";
import { readNetDev, sampleCgroup, type CgroupSample, type Pressure } from "./cgroup/cgroup-stats";

/** A container to show: `cgroup` null when it has none to read (not running, or no cgroup of its own). */
export interface StatsTarget {
  id: string;
  name: string;
  /** When it started (ms since the epoch). */
  started: number;
  cgroup: string | null;
  pid: number | null;
  /** Whether it has a network namespace of its own (else NET IO is 0, as podman shows it). */
  ownNetwork: boolean;
}

export interface StatsSnapshot {
  cgroup: CgroupSample;
  net: { rx: number; tx: number } | null;
}

export function snapshot(t: StatsTarget): StatsSnapshot | undefined {
  if (!t.cgroup) return undefined;
  return { cgroup: sampleCgroup(t.cgroup), net: t.ownNetwork && t.pid ? readNetDev(t.pid) : null };
}

const percent = (f: number) => `${f.toFixed(2)}%`;
const pair = (a: string, b: string) => `${a} / ${b}`;

/** PSI as podman-style fields: each stall line with Go's capitalised names. */
function pressureFields(p: Pressure | null) {
  const line = (l: Pressure["some"]) => ({ Avg10: l.avg10, Avg60: l.avg60, Avg300: l.avg300, Total: l.total });
  return p && { Some: line(p.some), Full: p.full && line(p.full) };
}

/**
 * The template record of one container: podman's fields (strings for the table, numbers beside them),
 * then rl's. CPU % is over the time between `prev` and `cur`; without `prev`, since the container started.
 */
export function statsRecord(t: StatsTarget, cur: StatsSnapshot | undefined, prev: StatsSnapshot | undefined, noTrunc: boolean) {
  const id = { ID: noTrunc ? t.id : t.id.slice(0, 12), ContainerID: t.id, Name: t.name };
  const c = cur?.cgroup;
  if (!c) return { ...id, ...BLANK };
  const usage = c.cpu.usageUsec;
  const sinceStart = Math.max(1, (Date.now() - t.started) * 1000);
  const avg = (usage / sinceStart) * 100;
  const prevUsec = prev && prev.cgroup.cpu.usageUsec <= usage ? prev.cgroup.cpu.usageUsec : undefined;
  const cpu = prevUsec === undefined || c.at <= prev!.cgroup.at ? avg : ((usage - prevUsec) / ((c.at - prev!.cgroup.at) * 1000)) * 100;
  const memLimit = Math.min(c.memory?.max ?? Infinity, totalmem());
  const memPerc = c.memory ? (c.memory.usage / memLimit) * 100 : 0;
  const net = cur.net ?? { rx: 0, tx: 0 };
  const up = goDuration(BigInt(usage) * 1000n);
  const events = c.memory?.events;
  return {
    ...id,
    CPUPerc: percent(cpu),
    MemUsage: c.memory ? pair(goHumanSize(c.memory.usage), goHumanSize(memLimit)) : "-- / --",
    MemPerc: c.memory ? percent(memPerc) : "--",
    NetIO: pair(goHumanSize(net.rx), goHumanSize(net.tx)),
    BlockIO: pair(goHumanSize(c.io.read), goHumanSize(c.io.write)),
    PIDS: String(c.pids),
    UpTime: up,
    AVGCPU: percent(avg),
    CPU: cpu,
    AvgCPU: avg,
    CPUNano: usage * 1000,
    CPUSystemNano: c.cpu.systemUsec * 1000,
    Duration: usage * 1000,
    SystemNano: Date.now() * 1e6,
    Up: up,
    MemUsageBytes: c.memory ? pair(goBytesSize(c.memory.usage), goBytesSize(memLimit)) : "-- / --",
    MemLimit: c.memory ? memLimit : 0,
    NetInput: net.rx,
    NetOutput: net.tx,
    BlockInput: c.io.read,
    BlockOutput: c.io.write,
    PIDs: c.pids,
    PerCPU: null,
    // rl's, beyond podman: throttling (cpu.stat), memory.events, PSI.
    CPUPeriods: c.cpu.nrPeriods,
    CPUThrottledPeriods: c.cpu.nrThrottled,
    CPUThrottledUsec: c.cpu.throttledUsec,
    CPUThrottledTime: goDuration(BigInt(c.cpu.throttledUsec) * 1000n),
    MemLowEvents: events?.low ?? 0,
    MemHighEvents: events?.high ?? 0,
    MemMaxEvents: events?.max ?? 0,
    MemOOMEvents: events?.oom ?? 0,
    MemOOMKills: events?.oomKill ?? 0,
    CPUPressure: c.pressure?.cpu ? percent(c.pressure.cpu.some.avg10) : "--",
    MemPressure: c.pressure?.memory ? percent(c.pressure.memory.some.avg10) : "--",
    IOPressure: c.pressure?.io ? percent(c.pressure.io.some.avg10) : "--",
    Pressure: c.pressure && { CPU: pressureFields(c.pressure.cpu), Memory: pressureFields(c.pressure.memory), IO: pressureFields(c.pressure.io) },
  };
}

/** A container with nothing to read: podman's "--". */
const BLANK = {
  CPUPerc: "--", MemUsage: "-- / --", MemPerc: "--", NetIO: "-- / --", BlockIO: "-- / --", PIDS: "--", UpTime: "--", AVGCPU: "--",
  CPU: 0, AvgCPU: 0, CPUNano: 0, CPUSystemNano: 0, Duration: 0, SystemNano: 0, Up: "--", MemUsageBytes: "-- / --", MemLimit: 0,
  NetInput: 0, NetOutput: 0, BlockInput: 0, BlockOutput: 0, PIDs: 0, PerCPU: null,
  CPUPeriods: 0, CPUThrottledPeriods: 0, CPUThrottledUsec: 0, CPUThrottledTime: "--",
  MemLowEvents: 0, MemHighEvents: 0, MemMaxEvents: 0, MemOOMEvents: 0, MemOOMKills: 0,
  CPUPressure: "--", MemPressure: "--", IOPressure: "--", Pressure: null,
};

export type StatsRecord = ReturnType<typeof statsRecord>;

/** `--format json`: podman's keys (strings), then rl's (numbers, the kernel's names; null where unknown). */
export function statsJson(r: StatsRecord, cur: StatsSnapshot | undefined) {
  const s = cur?.cgroup;
  const psi = (p: Pressure | null) => p && { some: p.some, full: p.full };
  return {
    id: r.ID,
    name: r.Name,
    cpu_time: r.Up,
    cpu_percent: r.CPUPerc,
    avg_cpu: r.AVGCPU,
    mem_usage: r.MemUsage,
    mem_percent: r.MemPerc,
    net_io: r.NetIO,
    block_io: r.BlockIO,
    pids: r.PIDS,
    cpu_throttling: s ? { nr_periods: s.cpu.nrPeriods, nr_throttled: s.cpu.nrThrottled, throttled_usec: s.cpu.throttledUsec } : null,
    memory_events: s?.memory ? { low: s.memory.events.low, high: s.memory.events.high, max: s.memory.events.max, oom: s.memory.events.oom, oom_kill: s.memory.events.oomKill } : null,
    pressure: s?.pressure ? { cpu: psi(s.pressure.cpu), memory: psi(s.pressure.memory), io: psi(s.pressure.io) } : null,
  };
}
