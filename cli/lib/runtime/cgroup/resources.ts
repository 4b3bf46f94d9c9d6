import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../../errors";
import { majorMinor, type Resources, type ThrottleDevice, type ThrottleList } from "./limits";

// A container's limits as recorded in its runtime spec (linux.resources), what `rl update` changes in
// that record, and how `rl inspect` shows them (podman's HostConfig fields).

const THROTTLE_LISTS: ThrottleList[] = ["throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"];

/** Rates per device: a new rate replaces the device's old one, as a write of io.max does. */
function mergeDevices(old: ThrottleDevice[] = [], next: ThrottleDevice[]): ThrottleDevice[] {
  const same = (a: ThrottleDevice, b: ThrottleDevice) => a.major === b.major && a.minor === b.minor;
  return [...old.filter((o) => !next.some((n) => same(o, n))), ...next];
}

/**
 * The record after `rl update`: what `next` sets replaces the old value, the rest stays. cpu.max is
 * written whole, so a new quota or period replaces both (no quota: "max").
 */
export function mergeResources(old: Resources, next: Resources): Resources {
  const out: Resources = structuredClone(old);
  if (next.memory) out.memory = { ...out.memory, ...next.memory };
  if (next.cpu) {
    const cpu = { ...out.cpu, ...next.cpu };
    if (next.cpu.period !== undefined) {
      if (next.cpu.quota === undefined) delete cpu.quota;
      else cpu.quota = next.cpu.quota;
    }
    out.cpu = cpu;
  }
  if (next.pids) out.pids = next.pids;
  if (next.blockIO) {
    const io = { ...out.blockIO };
    if (next.blockIO.weight !== undefined) io.weight = next.blockIO.weight;
    for (const list of THROTTLE_LISTS) if (next.blockIO[list]) io[list] = mergeDevices(io[list], next.blockIO[list]!);
    out.blockIO = io;
  }
  const memory = out.memory;
  if (memory?.reservation !== undefined && memory.limit !== undefined && memory.reservation > memory.limit) {
    throw new RlError(`invalid --memory-reservation ${memory.reservation}: it must not be above the memory limit (${memory.limit} bytes)`);
  }
  return out;
}

/** The block devices under /dev by MAJ:MIN (the first name found), for podman's BlkioDevice* paths. */
function devicePaths(): Map<string, string> {
  const out = new Map<string, string>();
  let names: string[] = [];
  try {
    names = readdirSync("/dev");
  } catch {}
  for (const name of names.sort()) {
    try {
      const st = statSync(join("/dev", name));
      if (!st.isBlockDevice()) continue;
      const key = majorMinor(st.rdev);
      if (!out.has(key)) out.set(key, join("/dev", name));
    } catch {}
  }
  return out;
}

/** podman's HostConfig resource fields, from the recorded linux.resources and oomScoreAdj. */
export function hostConfigLimits(r: Resources = {}, oomScoreAdj = 0) {
  const cpu = r.cpu ?? {};
  const io = r.blockIO ?? {};
  const throttled = THROTTLE_LISTS.some((l) => io[l]?.length);
  const paths = throttled ? devicePaths() : new Map<string, string>();
  const devices = (list: ThrottleList) => io[list]?.map((d) => ({ Path: paths.get(`${d.major}:${d.minor}`) ?? `${d.major}:${d.minor}`, Rate: d.rate })) ?? null;
  return {
    Memory: r.memory?.limit ?? 0,
    MemoryReservation: r.memory?.reservation ?? 0,
    MemorySwap: r.memory?.swap ?? 0,
    NanoCpus: cpu.quota !== undefined && cpu.period ? Math.round((cpu.quota * 1e9) / cpu.period) : 0,
    CpuShares: cpu.shares ?? 0,
    CpuPeriod: cpu.period ?? 0,
    CpuQuota: cpu.quota ?? 0,
    CpusetCpus: cpu.cpus ?? "",
    CpusetMems: cpu.mems ?? "",
    PidsLimit: r.pids?.limit ?? 0,
    BlkioWeight: io.weight ?? 0,
    BlkioDeviceReadBps: devices("throttleReadBpsDevice"),
    BlkioDeviceWriteBps: devices("throttleWriteBpsDevice"),
    BlkioDeviceReadIOps: devices("throttleReadIOPSDevice"),
    BlkioDeviceWriteIOps: devices("throttleWriteIOPSDevice"),
    OomScoreAdj: oomScoreAdj,
  };
}
