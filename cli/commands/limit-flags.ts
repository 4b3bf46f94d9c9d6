import type { LimitFlags } from "../lib/runtime/cgroup/limits";

const text = (v: unknown) => (v === undefined ? undefined : String(v));
const list = (v: unknown) => (v as string[] | undefined) ?? [];

/** `rl run`'s resource flags, as given (checked by parseLimits). */
export function limitFlags(a: Record<string, unknown>): LimitFlags {
  return {
    memory: text(a.memory),
    memoryReservation: text(a["memory-reservation"]),
    memorySwap: text(a["memory-swap"]),
    cpus: text(a.cpus),
    cpuShares: text(a["cpu-shares"]),
    cpuPeriod: text(a["cpu-period"]),
    cpuQuota: text(a["cpu-quota"]),
    cpusetCpus: text(a["cpuset-cpus"]),
    cpusetMems: text(a["cpuset-mems"]),
    pidsLimit: text(a["pids-limit"]),
    blkioWeight: text(a["blkio-weight"]),
    deviceReadBps: list(a["device-read-bps"]),
    deviceWriteBps: list(a["device-write-bps"]),
    deviceReadIops: list(a["device-read-iops"]),
    deviceWriteIops: list(a["device-write-iops"]),
    oomScoreAdj: text(a["oom-score-adj"]),
  };
}
