import { RlError } from "../errors";
import { hasFullMapping, hostId, idLines, NO_RANGES, type IdLine, type IdMapping } from "../security/idmap";

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home?: string;
}

/** A decimal id (what /^\d+$/ says, without a regex: the first one a process runs costs ~0.2 ms). */
function isDigits(s: string): boolean {
  if (!s) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

// Loops, not flatMap: every rl run parses these, and a process's first flatMap costs ~0.1 ms.
export function parsePasswd(text: string | undefined): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 7 && isDigits(f[2]!) && isDigits(f[3]!)) out.push({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! });
  }
  return out;
}

export function parseGroup(text: string | undefined): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of (text ?? "").split("\n")) {
    const f = line.split(":");
    if (f.length >= 4 && isDigits(f[2]!)) out.push({ name: f[0]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) });
  }
  return out;
}

/**
 * Resolve docker's `-u uid[:gid]|name[:group]` against the image's /etc/passwd and /etc/group (`whose`
 * says where they come from): a named user gets its primary group and the groups that list it; a
 * numeric uid absent from passwd runs with gid 0 (as docker does).
 */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined, whose = "the image's"): ResolvedUser {
  const colon = spec.indexOf(":");
  // "1:2:3" is group "2:3", which no group is: split at the first colon only (as podman).
  const [userPart, groupPart] = colon < 0 ? [spec, undefined] : [spec.slice(0, colon), spec.slice(colon + 1)];
  const users = parsePasswd(passwd), groups = parseGroup(group);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (isDigits(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => u.uid === uid);
  } else {
    entry = users.find((u) => u.name === (userPart || "root"));
    if (!entry) throw new RlError(`unable to find user ${userPart}: no matching entries in ${whose} /etc/passwd`);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== "") {
    if (isDigits(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new RlError(`unable to find group ${groupPart}: no matching entries in ${whose} /etc/group`);
      gid = g.gid;
    }
  }
  // As docker shows it: the primary group first, then every group that lists the user.
  const additionalGids = entry && groupPart === undefined
    ? [gid, ...groups.filter((g) => g.members.includes(entry!.name) && g.gid !== gid).map((g) => g.gid)]
    : [];
  return { uid, gid, additionalGids, home: entry?.home };
}

/**
 * Refuse ids the container does not have: setresuid(-1) would mean "no change" (the workload would
 * stay root), and any other unmapped id fails in the kernel with a bare EINVAL.
 */
export function checkUserMapped(u: Pick<ResolvedUser, "uid" | "gid" | "additionalGids">, m: IdMapping): void {
  const full = hasFullMapping(m);
  // Without subordinate ids setgroups is denied: supplementary groups are dropped, not refused.
  const gids = full ? [u.gid, ...u.additionalGids] : [u.gid];
  const unmapped = (kind: "uid" | "gid", id: number) => hostId(idLines(m, kind), id) === undefined;
  const bad = unmapped("uid", u.uid) ? { kind: "uid" as const, id: u.uid } : gids.filter((g) => unmapped("gid", g)).map((id) => ({ kind: "gid" as const, id }))[0];
  if (!bad) return;
  if (!full && m.single && m.single !== NO_RANGES) throw new RlError(`cannot run as ${bad.kind} ${bad.id}: the container has only uid 0 and gid 0: ${m.single}`);
  if (!full) {
    const has = m.lines ? `only ${bad.kind} ${idLines(m, bad.kind)[0]!.inside}` : "only uid 0 and gid 0";
    throw new RlError(`cannot run as ${bad.kind} ${bad.id}: this user has no subordinate ids in /etc/subuid and /etc/subgid, so the container has ${has} (ask for a range, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER)`);
  }
  throw new RlError(`cannot run as ${bad.kind} ${bad.id}: the container's ${bad.kind}s are ${describeIds(idLines(m, bad.kind))} (${m.lines ? "as --userns maps them" : `your own and the subordinate ones in /etc/sub${bad.kind}`})`);
}

/** One line of a runtime spec's uidMappings or gidMappings. */
interface SpecIdMapping { containerID: number; hostID: number; size: number }

/**
 * Refuse ids a running container does not have (its runtime spec's maps), which the kernel would refuse
 * with a bare EINVAL. Supplementary groups count only where the container has more than one gid: with
 * a single one, setgroups is denied and they are dropped.
 */
export function checkUserInMaps(u: Pick<ResolvedUser, "uid" | "gid" | "additionalGids">, uidMappings: SpecIdMapping[] | undefined, gidMappings: SpecIdMapping[] | undefined): void {
  if (!uidMappings || !gidMappings) return;
  const lines = (m: SpecIdMapping[]) => m.map((l) => ({ inside: l.containerID, outside: l.hostID, count: l.size }));
  const uids = lines(uidMappings), gids = lines(gidMappings);
  const several = gids.reduce((n, l) => n + l.count, 0) > 1;
  const bad = hostId(uids, u.uid) === undefined
    ? { kind: "uid", id: u.uid, lines: uids }
    : [u.gid, ...(several ? u.additionalGids : [])].filter((g) => hostId(gids, g) === undefined).map((id) => ({ kind: "gid", id, lines: gids }))[0];
  if (bad) throw new RlError(`cannot run as ${bad.kind} ${bad.id}: the container's ${bad.kind}s are ${describeIds(bad.lines)}`);
}

/** "0-65536", or the ranges one by one where they leave gaps. */
function describeIds(lines: IdLine[]): string {
  const ranges: [number, number][] = [];
  for (const l of [...lines].sort((a, b) => a.inside - b.inside)) {
    const last = ranges[ranges.length - 1];
    if (last && last[1] + 1 === l.inside) last[1] = l.inside + l.count - 1;
    else ranges.push([l.inside, l.inside + l.count - 1]);
  }
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(", ");
}
