import { constants, statfsSync } from "node:fs";
import { canAccess, readText, type ReadText } from "./check";

export type CgroupVersion = "v2" | "hybrid" | "v1" | "none";

export const CGROUP2_SUPER_MAGIC = 0x63677270;
export const CGROUP_SUPER_MAGIC = 0x27e0eb;
export const TMPFS_MAGIC = 0x01021994;

/** The controllers behind rl's limits: --memory, --pids-limit, --cpus. */
export const WANTED_CONTROLLERS = ["cpu", "memory", "pids"] as const;

/** Reads only: nothing here ever writes under /sys/fs/cgroup. Tests pass a fake. */
export interface CgroupHost {
  /** statfs(2) f_type, or null when the path does not exist. */
  fsType(path: string): number | null;
  read: ReadText;
  /** access(path, W_OK). */
  writable(path: string): boolean;
}

export const realCgroupHost: CgroupHost = {
  fsType(path) {
    try {
      return Number(statfsSync(path).type);
    } catch {
      return null;
    }
  },
  read: readText,
  writable: (path) => canAccess(path, constants.W_OK),
};

export interface ProcCgroup {
  /** The cgroup v2 path (the "0::" line), or null if absent. */
  unified: string | null;
  v1: { hierarchy: number; controllers: string[]; path: string }[];
}

/** /proc/PID/cgroup: "hierarchy-ID:controller-list:path" per line; the path may itself contain ':'. */
export function parseProcCgroup(text: string): ProcCgroup {
  const out: ProcCgroup = { unified: null, v1: [] };
  for (const line of text.split("\n")) {
    const a = line.indexOf(":"), b = line.indexOf(":", a + 1);
    if (a < 0 || b < 0) continue;
    const hierarchy = Number(line.slice(0, a)), list = line.slice(a + 1, b), path = line.slice(b + 1);
    if (!Number.isInteger(hierarchy)) continue;
    if (hierarchy === 0 && list === "") out.unified = path;
    else out.v1.push({ hierarchy, controllers: list ? list.split(",") : [], path });
  }
  return out;
}

/** From the filesystem types at /sys/fs/cgroup and /sys/fs/cgroup/unified (null: absent). */
export function cgroupVersion(rootFsType: number | null, unifiedFsType: number | null): CgroupVersion {
  if (rootFsType === CGROUP2_SUPER_MAGIC) return "v2";
  if (rootFsType === null) return "none";
  if (unifiedFsType === CGROUP2_SUPER_MAGIC) return "hybrid";
  if (rootFsType === TMPFS_MAGIC || rootFsType === CGROUP_SUPER_MAGIC) return "v1";
  return "none";
}

/** The systemd user manager's subtree containing `path`, e.g. /user.slice/user-1000.slice/user@1000.service. */
export function delegatedRootOf(path: string, uid: number): string | null {
  const parts = path.split("/");
  const i = parts.indexOf(`user@${uid}.service`);
  return i < 0 ? null : parts.slice(0, i + 1).join("/");
}

export const systemdUserService = (uid: number) => `/user.slice/user-${uid}.slice/user@${uid}.service`;

export interface CgroupInfo {
  /** Whether rl can enforce limits (--memory, --cpus, --pids-limit). */
  ok: boolean;
  reason: string | null;
  /** A caveat while ok: controllers not delegated, rl running outside the delegated subtree. */
  note: string | null;
  version: CgroupVersion;
  /** This process's cgroup v2 path ("0::" in /proc/self/cgroup). */
  ownPath: string | null;
  /** Absolute directory of the subtree delegated to the user, when there is one. */
  delegatedPath: string | null;
  insideDelegated: boolean;
  writable: boolean;
  /** Controllers available in the delegated subtree (its cgroup.controllers). */
  controllers: string[];
  /** Controllers it enables for its children (its cgroup.subtree_control). */
  subtreeControl: string[];
  missingControllers: string[];
}

const NEED = "rl needs cgroup v2 with a subtree delegated to the user (boot with systemd.unified_cgroup_hierarchy=1)";
const DELEGATE_FIX = "sudo systemctl edit user@.service: [Service] Delegate=cpu io memory pids";
const words = (text: string | null) => (text ?? "").split(/\s+/).filter(Boolean);

export function cgroupInfo(uid: number, host: CgroupHost = realCgroupHost, mount = "/sys/fs/cgroup"): CgroupInfo {
  const version = cgroupVersion(host.fsType(mount), host.fsType(`${mount}/unified`));
  const ownPath = parseProcCgroup(host.read("/proc/self/cgroup") ?? "").unified;
  const info: CgroupInfo = {
    ok: false, reason: null, note: null, version, ownPath, delegatedPath: null, insideDelegated: false,
    writable: false, controllers: [], subtreeControl: [], missingControllers: [...WANTED_CONTROLLERS],
  };
  if (version === "hybrid") {
    const v2 = words(host.read(`${mount}/unified/cgroup.controllers`));
    const shape = v2.length ? `v2 with only ${v2.join(" ")}` : "empty v2";
    return { ...info, reason: `this host has hybrid cgroups (v1 controllers, ${shape}); ${NEED}` };
  }
  if (version === "v1") return { ...info, reason: `this host has cgroup v1 only; ${NEED}` };
  if (version === "none") return { ...info, reason: `no cgroup filesystem is mounted at ${mount}; ${NEED}` };
  if (ownPath === null) return { ...info, reason: "/proc/self/cgroup has no cgroup v2 entry (0::)" };

  // Where the user may create cgroups: its systemd user manager's subtree, else a cgroup it was
  // handed some other way (a writable own cgroup, as in some CI containers).
  let rel = delegatedRootOf(ownPath, uid);
  let inside = rel !== null;
  if (!rel && ownPath !== "/" && host.writable(mount + ownPath)) [rel, inside] = [ownPath, true];
  if (!rel && host.fsType(mount + systemdUserService(uid)) !== null) rel = systemdUserService(uid);
  if (!rel) {
    return {
      ...info,
      reason: `no cgroup subtree is delegated to uid ${uid}: ${mount}${systemdUserService(uid)} does not exist ` +
        "(log in through systemd-logind so that systemd --user runs, or sudo loginctl enable-linger USER)",
    };
  }
  const dir = mount + (rel === "/" ? "" : rel);
  const controllers = words(host.read(`${dir}/cgroup.controllers`));
  const subtreeControl = words(host.read(`${dir}/cgroup.subtree_control`));
  const writable = ["", "/cgroup.procs", "/cgroup.subtree_control"].every((f) => host.writable(dir + f));
  const missingControllers = WANTED_CONTROLLERS.filter((c) => !controllers.includes(c));
  const found = { ...info, delegatedPath: dir, insideDelegated: inside, writable, controllers, subtreeControl, missingControllers };
  if (!writable) return { ...found, reason: `${dir} is not writable by uid ${uid}, so rl cannot create cgroups there` };
  if (missingControllers.length === WANTED_CONTROLLERS.length) {
    return { ...found, reason: `none of ${WANTED_CONTROLLERS.join(", ")} is delegated to ${dir} (${DELEGATE_FIX})` };
  }
  const notes: string[] = [];
  if (missingControllers.length) notes.push(`${missingControllers.join(", ")} not delegated, so those limits are unavailable (${DELEGATE_FIX})`);
  if (!inside) notes.push(`rl itself runs outside it, in ${ownPath}`);
  return { ...found, ok: true, note: notes.length ? notes.join("; ") : null };
}
