/**
 * `rl top`: podman's format descriptors (ps(1)'s AIX ones and podman's container-specific ones) over the
 * container's processes, as podman prints them: ids and names as the container sees them, durations as
 * Go prints them ("1.5s", "2m3s").
 */
import { goDuration as goNanoseconds } from "../format";
import { readFileSync } from "node:fs";
import { RlError } from "../errors";
import { capNames } from "../security/capabilities";
import { containerId, type IdLine } from "../security/idmap";
import type { ContainerProcs, ProcInfo } from "./container-procs";
import { parseGroup, parsePasswd } from "./user";

/** What a descriptor's value may depend on besides the process. */
interface TopContext {
  user: (hostUid: number) => string;
  group: (hostGid: number) => string;
  /** Seconds since boot, now, and the boot time in ms since the epoch. */
  uptime: number;
  bootMs: number;
}

const TICKS = 100; // USER_HZ: /proc's clock ticks are always 100 a second

const elapsed = (p: ProcInfo, c: TopContext) => Math.max(0, c.uptime - p.startTicks / TICKS);

/** A duration in seconds, rounded to the millisecond as podman's top shows it, as Go prints it: "250ms", "2m3.01s". */
export function goDuration(seconds: number): string {
  return goNanoseconds(BigInt(Math.round(seconds * 1000)) * 1_000_000n);
}

/** A controlling terminal's name from /proc/PID/stat's tty_nr: pts/N, ttyN, ttySN; "?" for none. */
export function ttyName(nr: number): string {
  if (nr === 0) return "?";
  const major = (nr >> 8) & 0xfff, minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
  if (major >= 136 && major <= 143) return `pts/${(major - 136) * 256 + minor}`;
  if (major === 4) return minor < 64 ? `tty${minor}` : `ttyS${minor - 64}`;
  return `${major}:${minor}`;
}

const caps = (mask: bigint) => (mask ? capNames(mask).join(",") : "none");
/** "Tue Dec  7 ..." is ps's; podman prints Go's time: "2026-12-07 18:01:03 +0000 UTC". */
const goTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;

/** Each descriptor: its column header (podman's) and its value. */
const DESCRIPTORS: Record<string, { header: string; value: (p: ProcInfo, c: TopContext) => string | number }> = {
  args: { header: "COMMAND", value: (p) => (p.args.length ? p.args.join(" ") : `[${p.comm}]`) },
  capamb: { header: "AMBIENT CAPS", value: (p) => caps(p.caps.CapAmb) },
  capbnd: { header: "BOUNDING CAPS", value: (p) => caps(p.caps.CapBnd) },
  capeff: { header: "EFFECTIVE CAPS", value: (p) => caps(p.caps.CapEff) },
  capinh: { header: "INHERITED CAPS", value: (p) => caps(p.caps.CapInh) },
  capprm: { header: "PERMITTED CAPS", value: (p) => caps(p.caps.CapPrm) },
  comm: { header: "COMMAND", value: (p) => p.comm },
  etime: { header: "ELAPSED", value: (p, c) => goDuration(elapsed(p, c)) },
  group: { header: "GROUP", value: (p, c) => c.group(p.gids[1]!) },
  groups: { header: "GROUPS", value: (p, c) => p.groups.map(c.group).join(",") },
  hgroup: { header: "HGROUP", value: (p) => p.gids[1]! },
  hgroups: { header: "HGROUPS", value: (p) => p.groups.join(",") },
  hpid: { header: "HPID", value: (p) => p.hostPid },
  huser: { header: "HUSER", value: (p) => p.uids[1]! },
  label: { header: "LABEL", value: (p) => p.label || "?" },
  nice: { header: "NI", value: (p) => p.nice },
  pcpu: { header: "%CPU", value: (p, c) => (elapsed(p, c) > 0 ? ((p.cpuTicks / TICKS / elapsed(p, c)) * 100).toFixed(3) : "0.000") },
  pgid: { header: "PGID", value: (p) => p.pgid },
  pid: { header: "PID", value: (p) => p.pid },
  ppid: { header: "PPID", value: (p) => p.ppid },
  rgroup: { header: "RGROUP", value: (p, c) => c.group(p.gids[0]!) },
  rss: { header: "RSS", value: (p) => p.rssKb },
  ruser: { header: "RUSER", value: (p, c) => c.user(p.uids[0]!) },
  seccomp: { header: "SECCOMP", value: (p) => ["disabled", "strict", "filter"][p.seccomp] ?? "?" },
  state: { header: "STATE", value: (p) => p.state },
  stime: { header: "STIME", value: (p, c) => goTime(c.bootMs + (p.startTicks / TICKS) * 1000) },
  time: { header: "TIME", value: (p) => goDuration(p.cpuTicks / TICKS) },
  tty: { header: "TTY", value: (p) => ttyName(p.ttyNr) },
  user: { header: "USER", value: (p, c) => c.user(p.uids[1]!) },
  vsz: { header: "VSZ", value: (p) => p.vszKb },
};

/** ps(1)'s AIX format codes, as podman takes them. */
const AIX: Record<string, string> = {
  "%C": "pcpu", "%G": "group", "%P": "ppid", "%U": "user", "%a": "args", "%c": "comm", "%g": "rgroup", "%n": "nice",
  "%p": "pid", "%r": "pgid", "%t": "etime", "%u": "ruser", "%x": "time", "%y": "tty", "%z": "vsz",
};

/** podman's columns when none are asked for. */
export const DEFAULT_DESCRIPTORS = ["user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"];

export const DESCRIPTOR_NAMES = Object.keys(DESCRIPTORS);
export const AIX_CODES = Object.keys(AIX);

/** The descriptors typed (words, each maybe a comma-separated list) as names of DESCRIPTORS; none typed: podman's default. */
export function parseDescriptors(words: readonly string[]): string[] {
  const out = words.flatMap((w) => w.split(",")).filter(Boolean).map((w) => {
    const name = AIX[w] ?? w;
    if (!Object.hasOwn(DESCRIPTORS, name)) throw new RlError(`unknown format descriptor ${JSON.stringify(w)}: use ${DESCRIPTOR_NAMES.join(", ")} or an AIX code (${AIX_CODES.join(" ")})`);
    return name;
  });
  return out.length ? out : DEFAULT_DESCRIPTORS;
}

/** Control characters shown as "?", as ps(1) shows them: a container's command lines and names must not drive the terminal. */
const printable = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");

/** A name from the container's passwd or group lines, else the container id, for a host id (unmapped: the overflow id 65534). */
function namer(entries: { name: string; id: number }[], map: IdLine[]): (host: number) => string {
  const names = new Map(entries.map((e) => [e.id, e.name] as const).reverse()); // the first line of an id wins
  return (host) => {
    const id = containerId(map, host) ?? 65534;
    return names.get(id) ?? String(id);
  };
}

/** The table rl top prints: a header row, then a row per process. */
export function topTable(found: ContainerProcs, descriptors: string[], now = readClock()): string[][] {
  const c: TopContext = {
    user: namer(parsePasswd(found.passwd).map((e) => ({ name: e.name, id: e.uid })), found.uidMap),
    group: namer(parseGroup(found.group).map((e) => ({ name: e.name, id: e.gid })), found.gidMap),
    ...now,
  };
  const cols = descriptors.map((n) => DESCRIPTORS[n]!);
  return [cols.map((d) => d.header), ...found.procs.map((p) => cols.map((d) => printable(String(d.value(p, c)))))];
}

/** Seconds since boot (/proc/uptime) and the boot time (/proc/stat's btime). */
function readClock(): { uptime: number; bootMs: number } {
  const uptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const btime = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1] ?? 0);
  return { uptime, bootMs: btime * 1000 };
}
