import { readFileSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { RlError } from "../errors";
import { warnOnce } from "../log";
import { exitCodeOf, spawnHelper, type Helper } from "../sys/executor";
import { strerror } from "../sys/errno";

export interface IdRange {
  start: number;
  count: number;
}

/**
 * How container ids 0..N map to the host: the user at 0, then its subordinate ids from 1, range after
 * range in the order given. Without both lists only the user is mapped (`single` says why: NO_RANGES
 * or what the user namespace rl runs in refuses).
 */
export interface IdMapping {
  uid: number;
  gid: number;
  subuid?: IdRange[];
  subgid?: IdRange[];
  single?: string;
  /** A container's own map (--userns=keep-id or nomap) instead of the user at 0 and the ranges from 1. */
  lines?: { uid: IdLine[]; gid: IdLine[] };
}

/** One line of /proc/PID/uid_map: ids inside..inside+count-1 are outside..outside+count-1 on the host. */
export interface IdLine {
  inside: number;
  outside: number;
  count: number;
}

/** Ranges for `user` (name or uid) in a /etc/subuid-style file; the largest first. */
export function parseSubIds(text: string, names: string[]): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (!who || start === undefined || count === undefined || !names.includes(who)) continue;
    const s = Number(start), c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out.sort((a, b) => b.count - a.count);
}

/**
 * The ids that exist in the user namespace whose /proc/PID/uid_map (or gid_map) this is: the first
 * column of each line, sorted. In the initial namespace that is every id; in a container only what
 * the outer runtime mapped.
 */
export function existingIds(uidMap: string): IdRange[] {
  const out: IdRange[] = parseIdMap(uidMap).map((l) => ({ start: l.inside, count: l.count }));
  out.sort((a, b) => a.start - b.start);
  // Adjacent lines (rootless podman's "0 UID 1" then "1 SUB N") are one run of ids.
  const merged: IdRange[] = [];
  for (const r of out) {
    const last = merged.at(-1);
    if (last && r.start <= last.start + last.count) last.count = Math.max(last.count, r.start + r.count - last.start);
    else merged.push({ ...r });
  }
  return merged;
}

/** The lines of a /proc/PID/uid_map (or gid_map) as its reader sees them; malformed lines are left out. */
export function parseIdMap(text: string): IdLine[] {
  const out: IdLine[] = [];
  for (const line of text.split("\n")) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (Number.isInteger(inside) && Number.isInteger(outside) && Number.isInteger(count) && count! > 0) out.push({ inside: inside!, outside: outside!, count: count! });
  }
  return out;
}

/** The kernel takes at most 340 lines per id map; one is the user's own. */
export const MAX_SUBORDINATE_PIECES = 339;

/**
 * The parts of `ranges` (in their order, each cut in ascending pieces) that exist in this user
 * namespace, without the user's own id (the kernel refuses a map whose host ids overlap).
 */
export function clipRanges(ranges: IdRange[], existing: IdRange[], own: number): IdRange[] {
  const out: IdRange[] = [];
  for (const r of ranges) {
    for (const e of existing) {
      const start = Math.max(r.start, e.start), end = Math.min(r.start + r.count, e.start + e.count);
      if (start >= end) continue;
      if (own >= start && own < end) {
        if (own > start) out.push({ start, count: own - start });
        if (end > own + 1) out.push({ start: own + 1, count: end - own - 1 });
      } else {
        out.push({ start, count: end - start });
      }
    }
  }
  return out.slice(0, MAX_SUBORDINATE_PIECES);
}

export const span = (r: IdRange[]) => r.map((x) => (x.count === 1 ? `${x.start}` : `${x.start}-${x.start + x.count - 1}`)).join(", ");

export interface MappingInput {
  uid: number;
  gid: number;
  /** The user's lines of /etc/subuid and /etc/subgid, parsed. */
  subuid: IdRange[];
  subgid: IdRange[];
  /** /proc/self/uid_map and gid_map of the namespace rl runs in. */
  uidMap: string;
  gidMap: string;
  /** Why newuidmap/newgidmap cannot map subordinate ids here (helpersRefusedHere). */
  helpersRefused?: string;
}

export const NO_RANGES = "no subordinate ids for this user in /etc/subuid and /etc/subgid";
const ALONE = "only the user's own id is mapped (as root); files owned by other ids are given to root";

/** The one warning of a single-id mapping. */
export const singleWarning = (m: IdMapping): string => `${m.single ?? NO_RANGES}: ${ALONE}`;

/** The mapping rl uses: the subordinate ranges clipped to the ids that exist here, or the user alone. */
export function planMapping(i: MappingInput): IdMapping {
  const base = { uid: i.uid, gid: i.gid };
  if (!i.subuid.length || !i.subgid.length) return { ...base, single: NO_RANGES };
  const uids = existingIds(i.uidMap), gids = existingIds(i.gidMap);
  const subuid = clipRanges(i.subuid, uids, i.uid), subgid = clipRanges(i.subgid, gids, i.gid);
  if (subuid.length && subgid.length) return i.helpersRefused ? { ...base, single: i.helpersRefused } : { ...base, subuid, subgid };
  const [file, listed, here] = subuid.length ? ["/etc/subgid", i.subgid, gids] : ["/etc/subuid", i.subuid, uids];
  return {
    ...base,
    single: `no subordinate ids for this user exist in the user namespace rl runs in (a container?): ${file} lists ${span(listed)}, ` +
      `only ${span(here)} exist here`,
  };
}

// Unreadable (no /proc): taken as the initial namespace, where every id exists.
const INITIAL_MAP = "0 0 4294967295";
const isInitialMap = (text: string) => text.trim().split(/\s+/).join(" ") === INITIAL_MAP;

export type ReadFile = (path: string) => string | null;

const readOrNull: ReadFile = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** What planMapping needs, from this process's files (RL_SUBUID_FILE and RL_SUBGID_FILE replace /etc's). */
export function mappingInput(read: ReadFile = readOrNull): MappingInput & { user: string } {
  const uid = process.getuid!(), gid = process.getgid!();
  const user = userName(uid, read);
  const names = [user, String(uid)];
  const uidMap = read("/proc/self/uid_map") ?? INITIAL_MAP;
  // Only a nested namespace needs to know how the helpers gain their privilege.
  const helpers = isInitialMap(uidMap) ? [] : [idMapHelper("newuidmap"), idMapHelper("newgidmap")];
  return {
    user,
    uid,
    gid,
    subuid: parseSubIds(read(process.env.RL_SUBUID_FILE ?? "/etc/subuid") ?? "", names),
    subgid: parseSubIds(read(process.env.RL_SUBGID_FILE ?? "/etc/subgid") ?? "", names),
    uidMap,
    gidMap: read("/proc/self/gid_map") ?? INITIAL_MAP,
    helpersRefused: helpersRefusedHere(read("/proc/self/status") ?? "", isInitialMap(uidMap), helpers),
  };
}

/**
 * The user's name, as newuidmap finds it: /etc/passwd first (Bun's userInfo() answers "unknown" when
 * $USER is unset, as in a container started with --user), then the system's lookup.
 */
export function userName(uid: number, read: ReadFile): string {
  for (const line of (read("/etc/passwd") ?? "").split("\n")) {
    const [name, , id] = line.split(":");
    if (name && id === String(uid)) return name;
  }
  try {
    const name = userInfo().username;
    if (name && name !== "unknown") return name;
  } catch {}
  return String(uid);
}

export function currentMapping(): IdMapping {
  return planMapping(mappingInput());
}

/** Highest container uid/gid + 1 that the mapping covers. */
export function mappedSize(m: IdMapping): { uids: number; gids: number } {
  const total = (r?: IdRange[]) => (r ?? []).reduce((n, x) => n + x.count, 0);
  return { uids: 1 + total(m.subuid), gids: 1 + total(m.subgid) };
}

export function hasFullMapping(m: IdMapping): boolean {
  return Boolean(m.subuid?.length && m.subgid?.length);
}

export interface HelperStatus {
  path?: string;
  usable: boolean;
  reason?: string;
  /** Setuid root: it runs as uid 0, not as the user who owns the namespace it maps. */
  setuid?: boolean;
}

/** newuidmap/newgidmap must exist and be setuid root (or carry file capabilities). */
export function idMapHelper(name: "newuidmap" | "newgidmap"): HelperStatus {
  const override = process.env[`RL_${name.toUpperCase()}`];
  const path = override ?? whichSbin(name);
  if (override && !Bun.file(override).size) return { usable: false, reason: `${name} is not installed at ${override} (Debian/Ubuntu: apt install uidmap)` };
  if (!path) return { usable: false, reason: `${name} is not installed (Debian/Ubuntu: apt install uidmap)` };
  const st = statSync(path);
  const setuidRoot = st.uid === 0 && (st.mode & 0o4000) !== 0;
  if (!setuidRoot && !hasFileCaps(path)) {
    return { path, usable: false, reason: `${path} is neither setuid root nor has file capabilities (reinstall uidmap)` };
  }
  return { path, usable: true, setuid: setuidRoot };
}

const CAP_SYS_ADMIN = 21n;

/**
 * Why newuidmap and newgidmap, though installed, cannot write a map in the user namespace rl runs
 * in: under no_new_privs they gain nothing; setuid root in a namespace other than the initial one,
 * they need CAP_SYS_ADMIN there (the kernel checks it on the new namespace, whose owner is the user,
 * not root), which a container's bounding set usually lacks. File capabilities keep the user's uid.
 */
export function helpersRefusedHere(status: string, initialNamespace: boolean, helpers: HelperStatus[]): string | undefined {
  const field = (name: string) => status.match(new RegExp(`^${name}:\\s*(\\S+)`, "m"))?.[1];
  if (field("NoNewPrivs") === "1") {
    return "rl runs with no_new_privs set (docker's --security-opt no-new-privileges, Kubernetes' allowPrivilegeEscalation: false), so newuidmap and newgidmap cannot gain the privilege to map subordinate ids";
  }
  const bounding = field("CapBnd");
  if (initialNamespace || !bounding || !helpers.some((h) => h.setuid)) return undefined;
  if ((BigInt(`0x${bounding}`) >> CAP_SYS_ADMIN) & 1n) return undefined;
  return "newuidmap and newgidmap are setuid root and the container rl runs in has no CAP_SYS_ADMIN, which the kernel then asks of them " +
    "(in its image give them file capabilities instead, as podman's images do: chmod u-s and setcap cap_setuid+ep /usr/bin/newuidmap, cap_setgid+ep /usr/bin/newgidmap; or run it with --cap-add SYS_ADMIN)";
}

/** `which`, also looking in the sbin directories an ordinary user's PATH often lacks. */
function whichSbin(name: string): string | undefined {
  return Bun.which(name, { PATH: `${process.env.PATH ?? ""}:/usr/bin:/usr/sbin:/bin:/sbin` }) ?? undefined;
}

function hasFileCaps(path: string): boolean {
  const getcap = whichSbin("getcap");
  if (!getcap) return false;
  const r = Bun.spawnSync([getcap, path], { stdout: "pipe", stderr: "ignore" });
  return r.exitCode === 0 && r.stdout.toString().includes("cap_set");
}

/**
 * Start writing the id maps of a child that waits for them, and return the function that waits until
 * they are written (it throws when a helper failed; call it on every path, it reaps the helpers).
 * Without subordinate ranges: only the user, at once, with one warning (as podman does).
 */
export function startIdMaps(pid: number, m: IdMapping): () => void {
  if (m.lines) return startLineMaps(pid, m.lines, hasFullMapping(m));
  if (!hasFullMapping(m)) {
    warnOnce(singleWarning(m));
    writeSingleMapping(pid, m);
    return () => {};
  }
  const triples = (own: number, sub: IdRange[]) => [String(pid), ...mapTriples(own, sub).flat().map(String)];
  return runMapHelpers(triples(m.uid, m.subuid!), triples(m.gid, m.subgid!));
}

/** newuidmap and newgidmap with these arguments, side by side; the returned function waits for both. */
function runMapHelpers(uidArgs: string[], gidArgs: string[]): () => void {
  const uidmap = idMapHelper("newuidmap"), gidmap = idMapHelper("newgidmap");
  for (const h of [uidmap, gidmap]) if (!h.usable) throw new RlError(h.reason!);
  const cannotWrite = (errno: number) => new RlError(`cannot write the id maps of the container: ${strerror(errno)}`);
  const helpers: Helper[] = [];
  try {
    helpers.push(spawnHelper([uidmap.path!, ...uidArgs]));
    helpers.push(spawnHelper([gidmap.path!, ...gidArgs]));
  } catch (err) {
    for (const h of helpers) h.wait();
    throw cannotWrite((err as { errno: number }).errno);
  }
  return () => {
    const ended = helpers.map((h) => ({ argv: h.argv, ...h.wait() }));
    const unstarted = ended.find((e) => e.status < 0);
    if (unstarted) throw cannotWrite(-unstarted.status);
    const failed = ended.find((e) => e.status !== 0);
    if (!failed) return;
    const why = failed.stderr.trim().split("\n").pop() || `exit code ${exitCodeOf(failed.status)}`;
    throw new RlError(`${failed.argv[0]} failed: ${why}`);
  };
}

/** [container id, host id, count] lines: the user at 0, then each range after the previous one. */
export function mapTriples(own: number, sub: IdRange[]): [number, number, number][] {
  const out: [number, number, number][] = [[0, own, 1]];
  let next = 1;
  for (const r of sub) {
    out.push([next, r.start, r.count]);
    next += r.count;
  }
  return out;
}

/** Write the id maps of a child that waits for them. */
export function writeIdMaps(pid: number, m: IdMapping): void {
  startIdMaps(pid, m)();
}

export function writeSingleMapping(pid: number, m: IdMapping): void {
  try {
    writeFileSync(`/proc/${pid}/uid_map`, `0 ${m.uid} 1\n`);
    writeFileSync(`/proc/${pid}/setgroups`, "deny\n");
    writeFileSync(`/proc/${pid}/gid_map`, `0 ${m.gid} 1\n`);
  } catch (err) {
    throw new RlError(`cannot write the id map of process ${pid}: ${(err as Error).message}`);
  }
}

/** A container's own map: through newuidmap/newgidmap, or (only the user's own id) written directly. */
function startLineMaps(pid: number, lines: { uid: IdLine[]; gid: IdLine[] }, full: boolean): () => void {
  const flat = (ls: IdLine[]) => [String(pid), ...ls.flatMap((l) => [String(l.inside), String(l.outside), String(l.count)])];
  if (full) return runMapHelpers(flat(lines.uid), flat(lines.gid));
  const text = (ls: IdLine[]) => ls.map((l) => `${l.inside} ${l.outside} ${l.count}\n`).join("");
  try {
    writeFileSync(`/proc/${pid}/uid_map`, text(lines.uid));
    writeFileSync(`/proc/${pid}/setgroups`, "deny\n");
    writeFileSync(`/proc/${pid}/gid_map`, text(lines.gid));
  } catch (err) {
    throw new RlError(`cannot write the id map of process ${pid}: ${(err as Error).message}`);
  }
  return () => {};
}

/** The lines of a mapping, its own or the default one (the user at 0, the subordinate range from 1). */
export function idLines(m: IdMapping, kind: "uid" | "gid"): IdLine[] {
  if (m.lines) return m.lines[kind];
  const own = kind === "uid" ? m.uid : m.gid;
  if (!hasFullMapping(m)) return [{ inside: 0, outside: own, count: 1 }];
  return mapTriples(own, (kind === "uid" ? m.subuid : m.subgid)!).map(([inside, outside, count]) => ({ inside, outside, count }));
}

/** The host id of a container id under these lines, or undefined when it is not mapped. */
export function hostId(lines: IdLine[], id: number): number | undefined {
  const l = lines.find((x) => id >= x.inside && id < x.inside + x.count);
  return l && l.outside + id - l.inside;
}

/** The container id of a host id under these lines, or undefined. */
export function containerId(lines: IdLine[], host: number): number | undefined {
  const l = lines.find((x) => host >= x.outside && host < x.outside + x.count);
  return l && l.inside + host - l.outside;
}

/**
 * --userns=keep-id[:uid=N,gid=N] (podman's): the user's own ids are N inside, the subordinate ranges fill
 * 0..N-1 and what follows N. Without subordinate ids only the user is mapped.
 */
export function keepIdMapping(base: IdMapping, uid: number, gid: number): IdMapping {
  const around = (self: number, inside: number, sub: IdRange[] | undefined): IdLine[] => {
    const lines: IdLine[] = [];
    let next = 0;
    for (const r of sub ?? []) {
      for (let start = r.start, left = r.count; left > 0; ) {
        if (next === inside) {
          lines.push({ inside, outside: self, count: 1 });
          next++;
          continue;
        }
        const take = next < inside ? Math.min(left, inside - next) : left;
        lines.push({ inside: next, outside: start, count: take });
        next += take;
        start += take;
        left -= take;
      }
    }
    if (next <= inside) lines.push({ inside, outside: self, count: 1 });
    return lines;
  };
  return { ...base, lines: { uid: around(base.uid, uid, base.subuid), gid: around(base.gid, gid, base.subgid) } };
}

/** --userns=nomap (podman's): only the subordinate ids, from 0; the user's own id is not in the container. */
export function noMapping(base: IdMapping): IdMapping {
  if (!hasFullMapping(base)) throw new RlError("cannot use --userns=nomap: this user has no subordinate ids in /etc/subuid and /etc/subgid, and nomap maps only those");
  const from0 = (sub: IdRange[]) => mapTriples(0, sub).slice(1).map(([inside, outside, count]) => ({ inside: inside - 1, outside, count }));
  return { ...base, lines: { uid: from0(base.subuid!), gid: from0(base.subgid!) } };
}

/**
 * The id to give a file, in a namespace mapped as `stored`, so that a container mapped as `container`
 * sees `id`: the same host id. An id the container does not map keeps its own; one the namespace
 * does not map either (the overflow id of a store unpacked with subordinate ids the user no longer has)
 * goes to its root, the user, as files of unmapped ids do without subordinate ids.
 */
export function reownId(stored: IdLine[], container: IdLine[], id: number): number {
  const host = hostId(container, id);
  const inStore = host === undefined ? undefined : containerId(stored, host);
  return inStore ?? (hostId(stored, id) === undefined ? 0 : id);
}
