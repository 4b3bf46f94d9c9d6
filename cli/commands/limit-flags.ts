import type { OptionTable } from "../parse-options";
import type { LimitFlags } from "../lib/runtime/cgroup/limits";

/** The resource flags of `rl run` and `rl update` (cgroup v2 files, as podman translates them). */
export const LIMIT_OPTIONS = {
  memory: { alias: "m", type: "string", describe: "Memory limit (memory.max): bytes, or a number with a unit b, k, m or g (64m)" },
  "memory-reservation": { type: "string", describe: "Memory soft limit (memory.low), a size as for --memory" },
  "memory-swap": { type: "string", describe: "Memory plus swap limit (memory.swap.max is the difference); -1 for unlimited swap" },
  cpus: { type: "string", describe: "Number of CPUs (cpu.max): 0.5 is half of one CPU's time" },
  "cpu-shares": { alias: "c", type: "string", describe: "CPU shares, relative weight 2..262144 (cpu.weight)" },
  "cpu-period": { type: "string", describe: "CPU CFS period in microseconds (cpu.max)" },
  "cpu-quota": { type: "string", describe: "CPU CFS quota in microseconds per period (cpu.max)" },
  "cpuset-cpus": { type: "string", describe: "CPUs in which to allow execution (0-3, 0,1)" },
  "cpuset-mems": { type: "string", describe: "Memory nodes in which to allow execution (0-3, 0,1)" },
  "pids-limit": { type: "string", describe: "Limit the number of processes (pids.max); -1 for unlimited" },
  "blkio-weight": { type: "string", describe: "Block IO relative weight, 10..1000 (io.bfq.weight or io.weight)" },
  "device-read-bps": { type: "string", array: true, default: [], describe: "Limit read rate in bytes per second from a device (io.max): /dev/sda:1mb" },
  "device-write-bps": { type: "string", array: true, default: [], describe: "Limit write rate in bytes per second to a device (io.max): /dev/sda:1mb" },
  "device-read-iops": { type: "string", array: true, default: [], describe: "Limit read rate in IO per second from a device (io.max): /dev/sda:1000" },
  "device-write-iops": { type: "string", array: true, default: [], describe: "Limit write rate in IO per second to a device (io.max): /dev/sda:1000" },
} as const satisfies OptionTable;

/** Only `rl run`'s: a process's setting, not its cgroup's. */
export const OOM_SCORE_ADJ_OPTION = {
  "oom-score-adj": { type: "string", describe: "Tune the host's OOM preferences for the container (-1000 to 1000; only raising works rootless)" },
} as const satisfies OptionTable;

type ListKey = "deviceReadBps" | "deviceWriteBps" | "deviceReadIops" | "deviceWriteIops";

/** Each field of LimitFlags and the flag it comes from. */
const VALUES: Record<Exclude<keyof LimitFlags, ListKey>, string> = {
  memory: "memory", memoryReservation: "memory-reservation", memorySwap: "memory-swap", cpus: "cpus",
  cpuShares: "cpu-shares", cpuPeriod: "cpu-period", cpuQuota: "cpu-quota", cpusetCpus: "cpuset-cpus",
  cpusetMems: "cpuset-mems", pidsLimit: "pids-limit", blkioWeight: "blkio-weight", oomScoreAdj: "oom-score-adj",
};
const LISTS: Record<ListKey, string> = {
  deviceReadBps: "device-read-bps", deviceWriteBps: "device-write-bps", deviceReadIops: "device-read-iops", deviceWriteIops: "device-write-iops",
};

/** The resource flags, as given (checked by parseLimits). */
export function limitFlags(a: Record<string, unknown>): LimitFlags {
  const out: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(VALUES)) out[key] = a[flag] === undefined ? undefined : String(a[flag]);
  for (const [key, flag] of Object.entries(LISTS)) out[key] = (a[flag] as string[] | undefined) ?? [];
  return out as unknown as LimitFlags;
}
