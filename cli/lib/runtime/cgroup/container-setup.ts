import { discardChild, type Child } from "../container-process";
import { CLONE } from "../../sys/clone-flags";
import type { Op } from "../../sys/ops";
import type { Spec } from "../spec";
import { enterCgroup, setOomScoreAdj } from "./container-cgroup";
import type { Limits } from "./limits";

// What a container with a cgroup of its own does differently while it starts (see container-cgroup.ts).

/**
 * The container's own cgroup2 at /sys/fs/cgroup (right after /sys), read-only: its subtree only. On an
 * empty tmpfs: where /sys is the host's, bound (no network namespace of its own), /sys/fs/cgroup is the
 * host's cgroup2 mount, and the kernel refuses a mount of the same filesystem on a mount's root (EBUSY).
 */
export function withCgroupMount(spec: Spec): void {
  const sys = spec.mounts.findIndex((m) => m.destination === "/sys");
  spec.mounts.splice(sys + 1, 0,
    { destination: "/sys/fs/cgroup", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "nodev", "ro", "mode=755"] },
    { destination: "/sys/fs/cgroup", type: "cgroup2", source: "cgroup2", options: ["nosuid", "noexec", "nodev", "ro"] },
  );
}

/**
 * Put a cloned, not yet released, container process under its limits: into its cgroup (its first op
 * then makes it the root of a new cgroup namespace), with its oom_score_adj. On failure it is ended.
 */
export async function applyLimits(c: Child, dir: string | undefined, limits: Limits): Promise<void> {
  try {
    if (dir) enterCgroup(dir, c.spawned.pid);
    if (limits.oomScoreAdj !== undefined) setOomScoreAdj(c.spawned.pid, limits.oomScoreAdj);
  } catch (err) {
    await discardChild(c);
    throw err;
  }
}

/** The limits as the runtime spec records them: what rl inspect shows (HostConfig) and rl update changes. */
export function withLimits(spec: Spec, limits: Limits): void {
  if (Object.keys(limits.resources).length) spec.linux.resources = limits.resources;
  if (limits.oomScoreAdj !== undefined) spec.process.oomScoreAdj = limits.oomScoreAdj;
}

/** The op list of a container that has a cgroup of its own: a new cgroup namespace first. */
export const cgroupNamespaceFirst = (ops: Op[]): Op[] => [{ op: "unshare", flags: CLONE.NEWCGROUP }, ...ops];
