/**
 * The processes of a running container, read from /proc as `rl top` shows them: every process in the pid
 * namespace of the container's first process, found by that namespace's identity (not by pid ranges or
 * cgroups, which rl may not have), each read through its own /proc directory descriptor.
 */
import { readdirSync, statSync } from "node:fs";
import { closeFd } from "../sys/libc";
import { namespaceId, openProcDir, readInProcRoot, readProcFile } from "../sys/proc-dir";
import { parseIdMap, type IdLine } from "../security/idmap";

/** /proc/PID/status's capability sets, by their field names. */
export const CAP_SETS = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] as const;

export interface ProcInfo {
  hostPid: number;
  /** The pid as the container sees it (the last of NSpid), and its process group's (NSpgid). */
  pid: number;
  pgid: number;
  /** The parent as the container sees it: 0 when it is outside the container (pid 1's, or exec's). */
  ppid: number;
  hostPpid: number;
  /** The one-letter state (R, S, D, Z...). */
  state: string;
  comm: string;
  args: string[];
  ttyNr: number;
  nice: number;
  /** User and system time, in clock ticks (100 a second: USER_HZ). */
  cpuTicks: number;
  /** When it started, in clock ticks since boot. */
  startTicks: number;
  /** Host ids: real, effective, saved, file system. */
  uids: number[];
  gids: number[];
  groups: number[];
  vszKb: number;
  rssKb: number;
  caps: Record<(typeof CAP_SETS)[number], bigint>;
  /** 0 none, 1 strict, 2 filter. */
  seccomp: number;
  /** The security label (/proc/PID/attr/current), when asked for. */
  label?: string;
}

export interface ContainerProcs {
  procs: ProcInfo[];
  /** The container's own /etc/passwd and /etc/group, for names. */
  passwd?: string;
  group?: string;
  uidMap: IdLine[];
  gidMap: IdLine[];
}

/** What /proc/PID/stat says after the command name (which may hold spaces and parentheses). */
export function parseStat(text: string): { comm: string; fields: string[] } {
  const close = text.lastIndexOf(")");
  return { comm: text.slice(text.indexOf("(") + 1, close), fields: text.slice(close + 2).trim().split(" ") };
}

/** /proc/PID/status as key → value. */
export function parseStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

const numbers = (v: string | undefined) => (v ? v.split(/\s+/).filter(Boolean).map(Number) : []);

/** One process from its stat, status and cmdline; `ppid` is filled in once every process is known. */
export function procInfo(hostPid: number, stat: string, status: string, cmdline: string): ProcInfo {
  const { comm, fields } = parseStat(stat);
  const s = parseStatus(status);
  const field = (n: number) => Number(fields[n - 3] ?? 0); // n as proc(5) numbers them; fields start at 3
  const last = (key: string) => numbers(s.get(key)).at(-1) ?? 0;
  return {
    hostPid,
    pid: last("NSpid"),
    pgid: last("NSpgid"),
    ppid: 0,
    hostPpid: Number(s.get("PPid") ?? 0),
    state: fields[0] ?? "?",
    comm,
    args: cmdline.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1),
    ttyNr: field(7),
    nice: field(19),
    cpuTicks: field(14) + field(15),
    startTicks: field(22),
    uids: numbers(s.get("Uid")),
    gids: numbers(s.get("Gid")),
    groups: numbers(s.get("Groups")),
    vszKb: numbers(s.get("VmSize"))[0] ?? 0,
    rssKb: numbers(s.get("VmRSS"))[0] ?? 0,
    caps: Object.fromEntries(CAP_SETS.map((k) => [k, BigInt(`0x${s.get(k) || "0"}`)])) as ProcInfo["caps"],
    seccomp: Number(s.get("Seccomp") ?? 0),
  };
}

/**
 * The processes of the container whose first process is `pid` (started at `start`, /proc/PID/stat's 22nd
 * field), sorted by their pid inside; undefined when that process is gone or is no container's pid 1 (its
 * workload ended, and the rl recorded in its place runs in the host's namespace).
 */
export function containerProcesses(pid: number, start: string, o: { label?: boolean } = {}): ContainerProcs | undefined {
  const first = openProcDir(pid);
  if (first === undefined) return undefined;
  let ns: string | undefined;
  let found: Omit<ContainerProcs, "procs">;
  try {
    const stat = readProcFile(first, "stat")?.toString("utf8");
    const nsPid = numbers(parseStatus(readProcFile(first, "status")?.toString("utf8") ?? "").get("NSpid"));
    if (!stat || parseStat(stat).fields[19] !== start || nsPid.length < 2 || nsPid.at(-1) !== 1) return undefined;
    ns = namespaceId(first, "pid");
    if (!ns) return undefined;
    found = {
      passwd: readInProcRoot(first, "etc/passwd"),
      group: readInProcRoot(first, "etc/group"),
      uidMap: parseIdMap(readProcFile(first, "uid_map")?.toString("utf8") ?? ""),
      gidMap: parseIdMap(readProcFile(first, "gid_map")?.toString("utf8") ?? ""),
    };
  } finally {
    closeFd(first);
  }
  const procs: ProcInfo[] = [];
  // /proc/PID belongs to the process's user: one outside the container's map runs no process of it. A
  // quick look that spares most of the host's processes the checks below, which decide.
  const mapped = (uid: number) => found.uidMap.some((l) => uid >= l.outside && uid < l.outside + l.count);
  for (const name of readdirSync("/proc")) {
    const hostPid = Number(name);
    if (!Number.isInteger(hostPid) || hostPid <= 0) continue;
    const owner = statSync(`/proc/${name}`, { throwIfNoEntry: false })?.uid;
    if (owner === undefined || !mapped(owner)) continue;
    const dir = openProcDir(hostPid);
    if (dir === undefined) continue;
    try {
      if (namespaceId(dir, "pid") !== ns) continue;
      const [stat, status, cmdline] = ["stat", "status", "cmdline"].map((f) => readProcFile(dir, f)?.toString("utf8"));
      if (stat === undefined || status === undefined || cmdline === undefined) continue; // it ended meanwhile
      const p = procInfo(hostPid, stat, status, cmdline);
      if (o.label) p.label = readProcFile(dir, "attr/current")?.toString("utf8").replace(/\0/g, "").trim();
      procs.push(p);
    } finally {
      closeFd(dir);
    }
  }
  const inside = new Map(procs.map((p) => [p.hostPid, p.pid]));
  for (const p of procs) p.ppid = inside.get(p.hostPpid) ?? 0;
  return { procs: procs.sort((a, b) => a.pid - b.pid), ...found };
}
