import { readText, type Check, type ReadText } from "../host/check";
import { hostSeccompArch } from "./seccomp-profile";

/** Whether containers get rl's seccomp filter here (rl info). */
export interface SeccompInfo extends Check {
  /** The filter actions the kernel offers (/proc/sys/kernel/seccomp/actions_avail); empty when unknown. */
  actions: string[];
  /** The architecture the filter is compiled for; null where rl has no syscall table. */
  arch: string | null;
}

export function seccompInfo(read: ReadText = readText, arch = hostSeccompArch() ?? null): SeccompInfo {
  const text = read("/proc/sys/kernel/seccomp/actions_avail");
  const actions = text?.trim().split(/\s+/).filter(Boolean) ?? [];
  const base = { actions, arch };
  if (text === null) return { ...base, ok: false, reason: "the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER): containers run without one" };
  if (!arch) return { ...base, ok: false, reason: `rl has no syscall table for ${process.arch}: containers run without a seccomp filter` };
  if (!actions.includes("errno") || !actions.includes("kill_process")) return { ...base, ok: false, reason: `the kernel's seccomp lacks the errno or kill_process action (it offers: ${actions.join(" ")})` };
  return { ...base, ok: true, reason: null };
}
