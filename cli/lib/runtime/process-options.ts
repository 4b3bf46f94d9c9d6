import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { isAbsolute, posix } from "node:path";
import { RlError } from "../errors";

// Parsing of run's process and kernel options that podman has: --ulimit, --umask, --group-add,
// --sysctl, --device. Each is checked before any side effect.

/** One resource limit; -1 is unlimited (RLIM_INFINITY). */
export interface Rlimit {
  type: string;
  soft: number;
  hard: number;
}

/** podman's --ulimit names, with their row in /proc/self/limits. */
const ULIMITS: Record<string, [string, string]> = {
  as: ["RLIMIT_AS", "Max address space"], core: ["RLIMIT_CORE", "Max core file size"], cpu: ["RLIMIT_CPU", "Max cpu time"],
  data: ["RLIMIT_DATA", "Max data size"], fsize: ["RLIMIT_FSIZE", "Max file size"], locks: ["RLIMIT_LOCKS", "Max file locks"],
  memlock: ["RLIMIT_MEMLOCK", "Max locked memory"], msgqueue: ["RLIMIT_MSGQUEUE", "Max msgqueue size"], nice: ["RLIMIT_NICE", "Max nice priority"],
  nofile: ["RLIMIT_NOFILE", "Max open files"], nproc: ["RLIMIT_NPROC", "Max processes"], rss: ["RLIMIT_RSS", "Max resident set"],
  rtprio: ["RLIMIT_RTPRIO", "Max realtime priority"], rttime: ["RLIMIT_RTTIME", "Max realtime timeout"],
  sigpending: ["RLIMIT_SIGPENDING", "Max pending signals"], stack: ["RLIMIT_STACK", "Max stack size"],
};

/** The kernel's resource numbers (the same on x86_64 and aarch64). */
export const RLIMIT_NUMBER: Record<string, number> = {
  RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
};

function limitValue(text: string): number | undefined {
  if (text === "-1" || text === "unlimited") return -1;
  return /^\d{1,18}$/.test(text) ? Number(text) : undefined;
}

/** rl's own hard limits (what the container may go up to), from /proc/self/limits: -1 for unlimited. */
export function hardLimits(text = readFileSync("/proc/self/limits", "utf8")): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1]!, m[3] === "unlimited" ? -1 : Number(m[3]));
  }
  return out;
}

const above = (a: number, b: number) => (a === -1 ? b !== -1 : b !== -1 && a > b);

/** `--ulimit NAME=SOFT[:HARD]` (or `host`: rl's own, which the container inherits anyway). */
export function parseUlimits(entries: string[], hard?: Map<string, number>): Rlimit[] {
  if (!entries.length) return [];
  hard ??= hardLimits();
  const out = new Map<string, Rlimit>();
  for (const e of entries) {
    if (e === "host") continue;
    const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(e);
    const bad = (why: string) => new RlError(`invalid --ulimit ${JSON.stringify(e)}: ${why}`);
    if (!m) throw bad("expected NAME=SOFT[:HARD], e.g. nofile=1024:2048");
    const known = ULIMITS[m[1]!];
    if (!known) throw bad(`unknown name ${m[1]} (rl knows ${Object.keys(ULIMITS).join(", ")})`);
    const soft = limitValue(m[2]!), hardWanted = m[3] === undefined ? soft : limitValue(m[3]);
    if (soft === undefined || hardWanted === undefined) throw bad("limits are numbers, -1 or unlimited");
    if (above(soft, hardWanted)) throw bad("the soft limit is above the hard one");
    const max = hard.get(known[1]);
    if (max !== undefined && above(hardWanted, max)) {
      throw bad(`rl's own hard limit for ${m[1]} is ${max}; an unprivileged user cannot raise it (ulimit -H${m[1] === "nofile" ? "n" : ""} shows it)`);
    }
    out.set(known[0], { type: known[0], soft, hard: hardWanted });
  }
  return [...out.values()];
}

/** `--umask`: octal, as podman takes it (default 0022). */
export function parseUmask(text: string | undefined): number {
  if (text === undefined) return 0o022;
  if (!/^0?[0-7]{1,3}$/.test(text)) throw new RlError(`invalid --umask ${JSON.stringify(text)}: give an octal mask such as 0022 or 077`);
  return parseInt(text, 8);
}

/** `--group-add`: gids, names (resolved in the image's /etc/group later), or keep-groups alone. */
export interface GroupAdd {
  keepGroups: boolean;
  groups: string[];
}

export function parseGroupAdd(entries: string[]): GroupAdd {
  const keep = entries.includes("keep-groups");
  if (keep && entries.length > 1) throw new RlError("invalid --group-add: keep-groups cannot be combined with other groups (as podman)");
  for (const g of entries) if (!g || g.includes(":") || g.includes("\n")) throw new RlError(`invalid --group-add ${JSON.stringify(g)}: give a gid or a group name`);
  return { keepGroups: keep, groups: keep ? [] : entries };
}

/** Resolve --group-add names against the image's /etc/group. */
export function resolveGroupAdd(groups: string[], groupFile: string | undefined): number[] {
  const lines = (groupFile ?? "").split("\n").map((l) => l.split(":"));
  return groups.map((g) => {
    if (/^\d{1,10}$/.test(g)) return Number(g);
    const found = lines.find((f) => f[0] === g && f.length >= 3 && /^\d+$/.test(f[2]!));
    if (!found) throw new RlError(`unable to find group ${g}: no matching entries in the image's /etc/group`);
    return Number(found[2]);
  });
}

/** Which namespace a sysctl belongs to, as runc and podman accept them; undefined: not namespaced. */
function sysctlNamespace(key: string): "network" | "ipc" | "uts" | undefined {
  if (key.startsWith("net.")) return "network";
  if (key.startsWith("fs.mqueue.") || /^kernel\.(msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)$/.test(key)) return "ipc";
  if (key === "kernel.hostname" || key === "kernel.domainname") return "uts";
  return undefined;
}

/** `--sysctl KEY=VALUE`: namespaced ones only; net.* needs the container's own network namespace. */
export function parseSysctls(entries: string[], hostNetwork: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf("=");
    const key = eq > 0 ? e.slice(0, eq).replaceAll("/", ".") : "", value = e.slice(eq + 1);
    const bad = (why: string) => new RlError(`invalid --sysctl ${JSON.stringify(e)}: ${why}`);
    if (!key || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(key) || value.includes("\n")) throw bad("expected KEY=VALUE, e.g. net.ipv4.ip_forward=1");
    const ns = sysctlNamespace(key);
    if (!ns) throw bad(`${key} is not namespaced: rl sets only net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, kernel.hostname and kernel.domainname`);
    if (ns === "network" && hostNetwork) throw bad(`${key} would change the host's network: the container has no network namespace of its own (--network host)`);
    out[key] = value;
  }
  return out;
}

/** A device bound into the container (OCI's linux.devices, with where it comes from). */
export interface DeviceBind {
  source: string;
  path: string;
  permissions: string;
}

/**
 * `--device HOST[:CONTAINER][:PERMS]`: rootless, a bind of a device node the user may open (as podman
 * does); PERMS (r, w, m) are checked against what the user may do: there is no device cgroup to enforce less.
 */
export function parseDevices(entries: string[]): DeviceBind[] {
  return entries.map((e) => {
    const parts = e.split(":");
    const bad = (why: string) => new RlError(`invalid --device ${JSON.stringify(e)}: ${why}`);
    const source = parts[0]!;
    let path = source, permissions = "rwm";
    if (parts.length === 2) {
      if (/^[rwm]+$/.test(parts[1]!)) permissions = parts[1]!;
      else path = parts[1]!;
    } else if (parts.length === 3) [path, permissions] = [parts[1]!, parts[2]!];
    else if (parts.length > 3) throw bad("expected HOST[:CONTAINER][:PERMS]");
    if (!isAbsolute(source) || !isAbsolute(path)) throw bad("paths must be absolute");
    if (!/^[rwm]+$/.test(permissions)) throw bad("permissions are made of r, w and m");
    const target = posix.normalize(path);
    if (target === "/dev" || target === "/proc" || target.startsWith("/proc/")) throw bad(`${target} cannot be a device's place in the container`);
    let st;
    try {
      st = statSync(source);
    } catch (err) {
      throw new RlError(`cannot use --device ${source}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such device" : (err as Error).message}`);
    }
    if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new RlError(`cannot use --device ${source}: not a device node`);
    // access(2), not open: opening some devices has effects (a tape rewinds, a modem line answers).
    const writing = permissions.includes("w");
    try {
      accessSync(source, (permissions.includes("r") ? constants.R_OK : 0) | (writing ? constants.W_OK : 0));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new RlError(`cannot use --device ${source}: ${code === "EACCES" || code === "EPERM" ? `permission denied: rootless, rl can only pass on a device this user may open${writing ? " for writing (give :r for reading only)" : ""}` : (err as Error).message}`);
    }
    return { source, path: target, permissions };
  });
}
