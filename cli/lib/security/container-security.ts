import { readFileSync, statSync } from "node:fs";
import { release } from "node:os";
import { RlError } from "../errors";
import { warnOnce } from "../log";
import { adjustCaps, allCaps } from "./capabilities";
import { defaultProfile } from "./seccomp-default";
import { hostSeccompArch, resolveProfile, validateProfile, type LinuxSeccomp, type SeccompProfile } from "./seccomp-profile";
import type { SecurityOpts } from "./security-opts";

/** podman's default capability set. */
export const DEFAULT_CAPS = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
  "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
];

/** What the container may not see (podman's list), and what it sees read-only. */
export const MASKED_PATHS = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block", "/sys/devices/virtual/powercap"];
export const READONLY_PATHS = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

/** The security parts of a container's runtime spec. */
export interface ContainerSecurity {
  capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
  noNewPrivileges: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Absent: no filter (seccomp=unconfined, --privileged, or no syscall table for this architecture). */
  seccomp?: LinuxSeccomp;
  /** Where the filter comes from, as inspect shows it: "default", "unconfined" or the profile's path. */
  seccompProfile: string;
}

export interface SecurityRequest {
  opts: SecurityOpts;
  privileged: boolean;
  capAdd: string[];
  capDrop: string[];
  /** The container process's uid: one that is not 0 holds only the capabilities added for it (as podman). */
  uid: number;
}

const MAX_PROFILE = 4 << 20;

function readProfile(path: string): SeccompProfile {
  let text: string;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > MAX_PROFILE) throw new Error(`larger than ${MAX_PROFILE >> 20} MiB`);
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RlError(`cannot use seccomp profile ${path}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  try {
    return validateProfile(JSON.parse(text));
  } catch (err) {
    throw new RlError(`cannot use seccomp profile ${path}: ${(err as Error).message}`);
  }
}

function profileFor(r: SecurityRequest, caps: string[]): LinuxSeccomp | undefined {
  const which = r.opts.seccomp;
  if (which === "unconfined" || (r.privileged && which === "default")) return undefined;
  const profile = which === "default" ? defaultProfile() : readProfile(which);
  const arch = hostSeccompArch();
  if (!arch) {
    if (which !== "default") throw new RlError(`cannot use seccomp profile ${which}: rl has no syscall table for ${process.arch}`);
    warnOnce(`containers run without a seccomp filter: rl has no syscall table for ${process.arch}`);
    return undefined;
  }
  return resolveProfile(profile, { caps, arch, kernel: release() });
}

function unmasked(paths: string[], unmask: string[]): string[] {
  if (unmask.includes("ALL")) return [];
  const globs = unmask.map((u) => new Bun.Glob(u));
  return paths.filter((p) => !globs.some((g) => g.match(p)));
}

/** Capabilities, no_new_privs, masks and the seccomp profile of one container (podman's rules). */
export function containerSecurity(r: SecurityRequest): ContainerSecurity {
  const bounding = r.privileged ? allCaps() : adjustCaps(DEFAULT_CAPS, r.capAdd, r.capDrop);
  // A user other than root starts with no capability (exec clears them), but those added for it.
  const added = r.uid === 0 ? bounding : adjustCaps([], r.capAdd, []).filter((c) => bounding.includes(c));
  const masked = r.privileged ? [] : [...MASKED_PATHS, ...r.opts.mask.filter((p) => !MASKED_PATHS.includes(p))];
  const seccomp = profileFor(r, bounding);
  return {
    capabilities: { bounding, effective: added, permitted: added, inheritable: r.uid === 0 ? [] : added, ambient: r.uid === 0 ? [] : added },
    noNewPrivileges: r.opts.noNewPrivileges,
    maskedPaths: unmasked(masked, r.opts.unmask),
    readonlyPaths: r.privileged ? [] : unmasked(READONLY_PATHS, r.opts.unmask),
    ...(seccomp ? { seccomp } : {}),
    seccompProfile: seccomp ? r.opts.seccomp : "unconfined",
  };
}
