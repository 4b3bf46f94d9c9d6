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

/** How container ids 0..N map to the host: the user at 0, then its subordinate range from 1. */
export interface IdMapping {
  uid: number;
  gid: number;
  subuid?: IdRange;
  subgid?: IdRange;
  /** A container's own map (--userns=keep-id or nomap) instead of the user at 0 and the range from 1. */
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

function readRanges(file: string, names: string[]): IdRange[] {
  try {
    return parseSubIds(readFileSync(file, "utf8"), names);
  } catch {
    return [];
  }
}

export function currentMapping(): IdMapping {
  const uid = process.getuid!(), gid = process.getgid!();
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {}
  const names = [name, String(uid)];
  return {
    uid,
    gid,
    subuid: readRanges(process.env.RL_SUBUID_FILE ?? "/etc/subuid", names)[0],
    subgid: readRanges(process.env.RL_SUBGID_FILE ?? "/etc/subgid", names)[0],
  };
}

/** Highest container uid/gid + 1 that the mapping covers. */
export function mappedSize(m: IdMapping): { uids: number; gids: number } {
  return { uids: 1 + (m.subuid?.count ?? 0), gids: 1 + (m.subgid?.count ?? 0) };
}

export function hasFullMapping(m: IdMapping): boolean {
  return Boolean(m.subuid && m.subgid);
}

export interface HelperStatus {
  path?: string;
  usable: boolean;
  reason?: string;
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
  return { path, usable: true };
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
    warnOnce(`no subordinate ids for this user in /etc/subuid and /etc/subgid: only the user's own id is mapped (as root); files owned by other ids are given to root`);
    writeSingleMapping(pid, m);
    return () => {};
  }
  return runMapHelpers(pid, [String(pid), "0", String(m.uid), "1", "1", String(m.subuid!.start), String(m.subuid!.count)], [String(pid), "0", String(m.gid), "1", "1", String(m.subgid!.start), String(m.subgid!.count)]);
}

/** newuidmap and newgidmap with these arguments, side by side; the returned function waits for both. */
function runMapHelpers(pid: number, uidArgs: string[], gidArgs: string[]): () => void {
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

/** Write the id maps of a child that waits for them. */
export function writeIdMaps(pid: number, m: IdMapping): void {
  startIdMaps(pid, m)();
}

function writeSingleMapping(pid: number, m: IdMapping): void {
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
  if (full) return runMapHelpers(pid, flat(lines.uid), flat(lines.gid));
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
  const sub = kind === "uid" ? m.subuid : m.subgid;
  const own = { inside: 0, outside: kind === "uid" ? m.uid : m.gid, count: 1 };
  return hasFullMapping(m) ? [own, { inside: 1, outside: sub!.start, count: sub!.count }] : [own];
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
  const around = (self: number, inside: number, sub: IdRange | undefined): IdLine[] => {
    const lines: IdLine[] = [];
    if (sub) {
      const below = Math.min(inside, sub.count);
      if (below > 0) lines.push({ inside: 0, outside: sub.start, count: below });
      lines.push({ inside, outside: self, count: 1 });
      if (sub.count > below) lines.push({ inside: inside + 1, outside: sub.start + below, count: sub.count - below });
    } else lines.push({ inside, outside: self, count: 1 });
    return lines;
  };
  return { ...base, lines: { uid: around(base.uid, uid, base.subuid), gid: around(base.gid, gid, base.subgid) } };
}

/** --userns=nomap (podman's): only the subordinate ids, from 0; the user's own id is not in the container. */
export function noMapping(base: IdMapping): IdMapping {
  if (!hasFullMapping(base)) throw new RlError("cannot use --userns=nomap: this user has no subordinate ids in /etc/subuid and /etc/subgid, and nomap maps only those");
  return { ...base, lines: { uid: [{ inside: 0, outside: base.subuid!.start, count: base.subuid!.count }], gid: [{ inside: 0, outside: base.subgid!.start, count: base.subgid!.count }] } };
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
