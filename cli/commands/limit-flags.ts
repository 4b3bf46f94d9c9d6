import type { LimitFlags } from "../lib/runtime/cgroup/limits";

type ListKey = "deviceReadBps" | "deviceWriteBps" | "deviceReadIops" | "deviceWriteIops";

/** Each field of LimitFlags and the `rl run` flag it comes from. */
const VALUES: Record<Exclude<keyof LimitFlags, ListKey>, string> = {
  memory: "memory", memoryReservation: "memory-reservation", memorySwap: "memory-swap", cpus: "cpus",
  cpuShares: "cpu-shares", cpuPeriod: "cpu-period", cpuQuota: "cpu-quota", cpusetCpus: "cpuset-cpus",
  cpusetMems: "cpuset-mems", pidsLimit: "pids-limit", blkioWeight: "blkio-weight", oomScoreAdj: "oom-score-adj",
};
const LISTS: Record<ListKey, string> = {
  deviceReadBps: "device-read-bps", deviceWriteBps: "device-write-bps", deviceReadIops: "device-read-iops", deviceWriteIops: "device-write-iops",
};

/** `rl run`'s resource flags, as given (checked by parseLimits). */
export function limitFlags(a: Record<string, unknown>): LimitFlags {
  const out: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(VALUES)) out[key] = a[flag] === undefined ? undefined : String(a[flag]);
  for (const [key, flag] of Object.entries(LISTS)) out[key] = (a[flag] as string[] | undefined) ?? [];
  return out as unknown as LimitFlags;
}
