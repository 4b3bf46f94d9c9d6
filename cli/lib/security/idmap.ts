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
  if (!hasFullMapping(m)) {
    warnOnce(`no subordinate ids for this user in /etc/subuid and /etc/subgid: only the user's own id is mapped (as root); files owned by other ids are given to root`);
    writeSingleMapping(pid, m);
    return () => {};
  }
  const uidmap = idMapHelper("newuidmap"), gidmap = idMapHelper("newgidmap");
  for (const h of [uidmap, gidmap]) if (!h.usable) throw new RlError(h.reason!);
  const cannotWrite = (errno: number) => new RlError(`cannot write the id maps of the container: ${strerror(errno)}`);
  const helpers: Helper[] = [];
  try {
    helpers.push(spawnHelper([uidmap.path!, String(pid), "0", String(m.uid), "1", "1", String(m.subuid!.start), String(m.subuid!.count)]));
    helpers.push(spawnHelper([gidmap.path!, String(pid), "0", String(m.gid), "1", "1", String(m.subgid!.start), String(m.subgid!.count)]));
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
