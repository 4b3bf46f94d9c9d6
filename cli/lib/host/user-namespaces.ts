import { readText, sysctlNumber, type ReadText } from "./check";
import type { UsernsEvidence } from "./overlay-probe";

export interface UserNamespaceInfo {
  ok: boolean;
  reason: string | null;
  /** A caveat while ok, e.g. an AppArmor restriction that a profile lifts for this program. */
  note: string | null;
  maxUserNamespaces: number | null;
  /** Debian's older kernels only. */
  unprivilegedUsernsClone: number | null;
  /** Ubuntu 23.10 and later only. */
  apparmorRestrictUnprivilegedUserns: number | null;
}

export interface UsernsSysctls {
  maxUserNamespaces: number | null;
  unprivilegedUsernsClone: number | null;
  apparmorRestrictUnprivilegedUserns: number | null;
}

export function readUsernsSysctls(read: ReadText = readText): UsernsSysctls {
  return {
    maxUserNamespaces: sysctlNumber(read, "/proc/sys/user/max_user_namespaces"),
    unprivilegedUsernsClone: sysctlNumber(read, "/proc/sys/kernel/unprivileged_userns_clone"),
    apparmorRestrictUnprivilegedUserns: sysctlNumber(read, "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
  };
}

const APPARMOR_FIX =
  "allow it with an AppArmor profile granting `userns,` to bun, or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0";

/** What the sysctls forbid, if anything. */
function sysctlProblem(s: UsernsSysctls): string | null {
  if (s.maxUserNamespaces === null) return "this kernel has no user namespaces (built without CONFIG_USER_NS)";
  if (s.maxUserNamespaces <= 0) return "user namespaces are disabled (user.max_user_namespaces = 0): sudo sysctl -w user.max_user_namespaces=15000";
  if (s.unprivilegedUsernsClone === 0) {
    return "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): sudo sysctl -w kernel.unprivileged_userns_clone=1";
  }
  return null;
}

/**
 * The sysctls say what is allowed; the real probe (a clone with CLONE_NEWUSER that then mounts)
 * says what works, which matters where AppArmor grants some programs an exception.
 */
export function userNamespaceInfo(s: UsernsSysctls, probe: UsernsEvidence): UserNamespaceInfo {
  // ok, reason and note first, so every outcome prints its keys in one order.
  const base = { ok: false, reason: null as string | null, note: null as string | null, ...s };
  const forbidden = sysctlProblem(s);
  const restricted = s.apparmorRestrictUnprivilegedUserns === 1;
  if (probe.works === false) {
    let reason = forbidden;
    if (!reason && restricted) reason = `unprivileged user namespaces are restricted by AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1): ${APPARMOR_FIX}`;
    reason ??= `cannot use a user namespace: ${probe.detail}`;
    return { ...base, ok: false, reason };
  }
  if (forbidden && probe.works === null) return { ...base, ok: false, reason: forbidden };
  if (restricted) {
    const note = probe.works
      ? "AppArmor restricts unprivileged user namespaces on this host, but a profile allows this program"
      : `AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1): ${APPARMOR_FIX}`;
    return { ...base, ok: true, reason: null, note };
  }
  return { ...base, ok: true, reason: null };
}
