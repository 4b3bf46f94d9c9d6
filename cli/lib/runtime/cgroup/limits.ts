import { statSync } from "node:fs";
import { RlError } from "../../errors";

/** `rl run`'s resource flags, as the user gave them (strings: sizes and lists are parsed here). */
export interface LimitFlags {
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  cpus?: string;
  cpuShares?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  pidsLimit?: string;
  blkioWeight?: string;
  deviceReadBps: string[];
  deviceWriteBps: string[];
  deviceReadIops: string[];
  deviceWriteIops: string[];
  oomScoreAdj?: string;
}

export type Controller = "memory" | "cpu" | "cpuset" | "pids" | "io";

/** One cgroup v2 file to write, and the flag that asked for it (for messages). */
export interface CgroupWrite {
  controller: Controller;
  file: string;
  value: string;
  flag: string;
  /** Written only where the kernel has the file (the default swap limit podman sets with --memory). */
  ifPresent?: boolean;
  /** Files to try in order, the first present taken (io.bfq.weight, then io.weight). */
  alternatives?: { file: string; value: string }[];
}

/** A device rate of io.max, as the OCI runtime spec records it. */
export interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

/**
 * The limits as the OCI runtime spec's linux.resources records them (podman's HostConfig is read from
 * these): the values of the flags, before any cgroup v2 conversion (cpu.shares, not cpu.weight).
 */
export interface Resources {
  /** swap: memory and swap together, -1 for unlimited (podman's default: twice the memory). */
  memory?: { limit?: number; reservation?: number; swap?: number };
  /** quota absent with a period: no quota ("max"). */
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  /** 0: no limit. */
  pids?: { limit: number };
  blockIO?: { weight?: number } & { [K in ThrottleList]?: ThrottleDevice[] };
}

export type ThrottleList = "throttleReadBpsDevice" | "throttleWriteBpsDevice" | "throttleReadIOPSDevice" | "throttleWriteIOPSDevice";

export interface Limits {
  writes: CgroupWrite[];
  oomScoreAdj?: number;
  resources: Resources;
}

/** Podman's (docker's) lowest --memory: below it a container cannot even start. */
const MIN_MEMORY = 6 * 1024 * 1024;
const CPU_PERIOD = 100_000;

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** A size as podman reads one (go-units RAMInBytes): 512, 512k, 64m, 1.5g, 64MB, 64MiB; binary units. */
export function parseSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtpb]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new RlError(`invalid size ${JSON.stringify(text)} for ${flag}: use a number of bytes, or one with a unit (512k, 64m, 1g)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new RlError(`invalid size ${JSON.stringify(text)} for ${flag}: too large`);
  return bytes;
}

/** cpu.weight (1..10000) for cgroup v1's cpu.shares (2..262144), as crun converts it. */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** io.weight (1..10000) for a blkio weight (10..1000), as crun converts it. */
export function blkioToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

function checkCpuList(text: string, flag: string): string {
  if (!CPU_LIST.test(text)) throw new RlError(`invalid ${flag} ${JSON.stringify(text)}: use a list such as 0-2,4`);
  for (const range of text.split(",")) {
    const [a, b] = range.split("-").map(Number);
    if (b !== undefined && b < a!) throw new RlError(`invalid ${flag} ${JSON.stringify(text)}: the range ${range} goes backwards`);
  }
  return text;
}

/** A whole number given to `flag`, or undefined when the flag is absent. */
function int(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text.trim())) throw new RlError(`invalid ${flag} ${JSON.stringify(text)}: use a whole number`);
  return Number(text);
}

function inRange(value: number, lo: number, hi: number, flag: string): number {
  if (value < lo || value > hi) throw new RlError(`invalid ${flag} ${value}: it must be from ${lo} to ${hi}`);
  return value;
}

/** The block device's MAJ:MIN, for io.max. */
export type DeviceNumber = (path: string, flag: string) => string;

export const deviceNumber: DeviceNumber = (path, flag) => {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new RlError(`invalid ${flag} ${path}: ${(err as Error).message}`);
  }
  if (!st.isBlockDevice()) throw new RlError(`invalid ${flag} ${path}: not a block device`);
  return majorMinor(st.rdev);
};

/** A device number (stat's rdev) as MAJ:MIN, glibc's split of the 64-bit dev_t. */
export function majorMinor(rdevNumber: number | bigint): string {
  const rdev = BigInt(rdevNumber);
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  return `${major}:${minor}`;
}

/** io.max lines, one per device: "MAJ:MIN rbps=N wbps=N riops=N wiops=N"; the rates into `blockIO`. */
function ioMax(f: LimitFlags, device: DeviceNumber, blockIO: NonNullable<Resources["blockIO"]>): CgroupWrite[] {
  const perDevice = new Map<string, { flags: string[]; keys: string[] }>();
  const sets: [string[], string, string, boolean, ThrottleList][] = [
    [f.deviceReadBps, "--device-read-bps", "rbps", true, "throttleReadBpsDevice"],
    [f.deviceWriteBps, "--device-write-bps", "wbps", true, "throttleWriteBpsDevice"],
    [f.deviceReadIops, "--device-read-iops", "riops", false, "throttleReadIOPSDevice"],
    [f.deviceWriteIops, "--device-write-iops", "wiops", false, "throttleWriteIOPSDevice"],
  ];
  for (const [values, flag, key, bytes, list] of sets) {
    for (const v of values) {
      const i = v.lastIndexOf(":");
      if (i <= 0) throw new RlError(`invalid ${flag} ${JSON.stringify(v)}: use DEVICE:RATE, e.g. /dev/sda:1mb`);
      const rateText = v.slice(i + 1);
      let rate: number;
      if (bytes) rate = parseSize(rateText, flag);
      else if (/^\d+$/.test(rateText)) rate = Number(rateText);
      else throw new RlError(`invalid ${flag} ${JSON.stringify(v)}: the rate must be a number of operations per second`);
      if (rate <= 0) throw new RlError(`invalid ${flag} ${JSON.stringify(v)}: the rate must be above 0`);
      const dev = device(v.slice(0, i), flag);
      const entry = perDevice.get(dev) ?? { flags: [], keys: [] };
      entry.flags.push(flag);
      entry.keys.push(`${key}=${rate}`);
      perDevice.set(dev, entry);
      const [major, minor] = dev.split(":").map(Number) as [number, number];
      (blockIO[list] ??= []).push({ major, minor, rate });
    }
  }
  return [...perDevice].map(([dev, e]) => ({ controller: "io", file: "io.max", value: `${dev} ${e.keys.join(" ")}`, flag: [...new Set(e.flags)].join("/") }));
}

/**
 * Check the flags and turn them into cgroup v2 files as podman (crun) writes them; throws on the first
 * bad value, before anything is created.
 */
export function parseLimits(f: LimitFlags, device: DeviceNumber = deviceNumber): Limits {
  const writes: CgroupWrite[] = [];
  const add = (controller: Controller, file: string, value: string | number, flag: string) => writes.push({ controller, file, value: String(value), flag });
  const mem: NonNullable<Resources["memory"]> = {}, cpu: NonNullable<Resources["cpu"]> = {}, blockIO: NonNullable<Resources["blockIO"]> = {};
  let pids: Resources["pids"];

  const memory = f.memory !== undefined ? parseSize(f.memory, "--memory") : undefined;
  if (memory !== undefined) {
    if (memory < MIN_MEMORY) throw new RlError(`invalid --memory ${f.memory}: the minimum is 6m`);
    add("memory", "memory.max", memory, "--memory");
    mem.limit = memory;
  }
  if (f.memoryReservation !== undefined) {
    const low = parseSize(f.memoryReservation, "--memory-reservation");
    if (memory !== undefined && low > memory) throw new RlError(`invalid --memory-reservation ${f.memoryReservation}: it must not be above --memory ${f.memory}`);
    add("memory", "memory.low", low, "--memory-reservation");
    mem.reservation = low;
  }
  if (f.memorySwap !== undefined) {
    if (memory === undefined) throw new RlError("--memory-swap needs --memory: it is the limit of memory and swap together");
    if (f.memorySwap.trim() === "-1") {
      add("memory", "memory.swap.max", "max", "--memory-swap");
      mem.swap = -1;
    } else {
      const total = parseSize(f.memorySwap, "--memory-swap");
      if (total < memory) throw new RlError(`invalid --memory-swap ${f.memorySwap}: it is memory and swap together, so it must not be below --memory ${f.memory}`);
      add("memory", "memory.swap.max", total - memory, "--memory-swap");
      mem.swap = total;
    }
  } else if (memory !== undefined) {
    // Podman's default: as much swap as memory, where the kernel accounts swap.
    writes.push({ controller: "memory", file: "memory.swap.max", value: String(memory), flag: "--memory", ifPresent: true });
    mem.swap = 2 * memory;
  }

  const [cpuPeriod, cpuQuota, cpuShares] = [int(f.cpuPeriod, "--cpu-period"), int(f.cpuQuota, "--cpu-quota"), int(f.cpuShares, "--cpu-shares")];
  const [pidsLimit, blkioWeight, oomScoreAdj] = [int(f.pidsLimit, "--pids-limit"), int(f.blkioWeight, "--blkio-weight"), int(f.oomScoreAdj, "--oom-score-adj")];
  if (f.cpus !== undefined) {
    if (cpuPeriod !== undefined) throw new RlError("--cpu-period and --cpus cannot be set together");
    if (cpuQuota !== undefined) throw new RlError("--cpu-quota and --cpus cannot be set together");
    const cpus = Number(f.cpus);
    if (!/^\d*\.?\d+$/.test(f.cpus.trim()) || !(cpus > 0)) throw new RlError(`invalid --cpus ${JSON.stringify(f.cpus)}: use a number of CPUs above 0, e.g. 0.5`);
    const quota = Math.round(cpus * CPU_PERIOD);
    if (quota < 1000) throw new RlError(`invalid --cpus ${f.cpus}: the smallest is 0.01`);
    add("cpu", "cpu.max", `${quota} ${CPU_PERIOD}`, "--cpus");
    Object.assign(cpu, { quota, period: CPU_PERIOD });
  } else if (cpuPeriod !== undefined || cpuQuota !== undefined) {
    const period = cpuPeriod === undefined ? CPU_PERIOD : inRange(cpuPeriod, 1000, 1_000_000, "--cpu-period");
    const quota = cpuQuota === undefined || cpuQuota === -1 ? "max" : inRange(cpuQuota, 1000, Number.MAX_SAFE_INTEGER, "--cpu-quota");
    add("cpu", "cpu.max", `${quota} ${period}`, cpuQuota !== undefined ? "--cpu-quota" : "--cpu-period");
    Object.assign(cpu, quota === "max" ? { period } : { quota, period });
  }
  if (cpuShares !== undefined && cpuShares !== 0) {
    add("cpu", "cpu.weight", sharesToWeight(inRange(cpuShares, 2, 262144, "--cpu-shares")), "--cpu-shares");
    cpu.shares = cpuShares;
  }
  if (f.cpusetCpus !== undefined) add("cpuset", "cpuset.cpus", (cpu.cpus = checkCpuList(f.cpusetCpus, "--cpuset-cpus")), "--cpuset-cpus");
  if (f.cpusetMems !== undefined) add("cpuset", "cpuset.mems", (cpu.mems = checkCpuList(f.cpusetMems, "--cpuset-mems")), "--cpuset-mems");
  if (pidsLimit !== undefined) {
    add("pids", "pids.max", pidsLimit <= 0 ? "max" : pidsLimit, "--pids-limit");
    pids = { limit: Math.max(pidsLimit, 0) };
  }
  if (blkioWeight !== undefined && blkioWeight !== 0) {
    const w = inRange(blkioWeight, 10, 1000, "--blkio-weight");
    writes.push({
      controller: "io", file: "io.bfq.weight", value: String(w), flag: "--blkio-weight",
      alternatives: [{ file: "io.bfq.weight", value: String(w) }, { file: "io.weight", value: `default ${blkioToIoWeight(w)}` }],
    });
    blockIO.weight = w;
  }
  writes.push(...ioMax(f, device, blockIO));

  const resources: Resources = {};
  if (Object.keys(mem).length) resources.memory = mem;
  if (Object.keys(cpu).length) resources.cpu = cpu;
  if (pids) resources.pids = pids;
  if (Object.keys(blockIO).length) resources.blockIO = blockIO;
  return { writes, oomScoreAdj: oomScoreAdj === undefined ? undefined : inRange(oomScoreAdj, -1000, 1000, "--oom-score-adj"), resources };
}
