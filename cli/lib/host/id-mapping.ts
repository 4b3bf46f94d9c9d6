import { userInfo } from "node:os";
import { currentMapping, idMapHelper, parseSubIds, type IdRange } from "../security/idmap";
import { readText, type ReadText } from "./check";

export interface HelperInfo {
  ok: boolean;
  reason: string | null;
  path: string | null;
}

export interface IdMappingInfo {
  /** A full mapping: subordinate uids and gids, and working helpers to write them. */
  ok: boolean;
  reason: string | null;
  user: string;
  uid: number;
  gid: number;
  /** Every range listed for the user, largest first: rl maps the first. */
  subuid: IdRange[];
  subgid: IdRange[];
  newuidmap: HelperInfo;
  newgidmap: HelperInfo;
}

function helper(name: "newuidmap" | "newgidmap"): HelperInfo {
  const h = idMapHelper(name);
  return { ok: h.usable, reason: h.reason ?? null, path: h.path ?? null };
}

export function idMappingReason(user: string, subuid: IdRange[], subgid: IdRange[], helpers: HelperInfo[]): string | null {
  const noRanges = [subuid.length ? "" : "/etc/subuid", subgid.length ? "" : "/etc/subgid"].filter(Boolean);
  if (noRanges.length) {
    return `${user} has no ranges in ${noRanges.join(" and ")}: only the user's own id is mapped, files owned by other ids become root's ` +
      `(sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user})`;
  }
  return helpers.find((h) => !h.ok)?.reason ?? null;
}

export function idMappingInfo(read: ReadText = readText): IdMappingInfo {
  const m = currentMapping();
  let user = String(m.uid);
  try {
    user = userInfo().username;
  } catch {}
  // The same files and names currentMapping() reads, but keeping every range.
  const names = [user, String(m.uid)];
  const subuid = parseSubIds(read(process.env.RL_SUBUID_FILE ?? "/etc/subuid") ?? "", names);
  const subgid = parseSubIds(read(process.env.RL_SUBGID_FILE ?? "/etc/subgid") ?? "", names);
  const newuidmap = helper("newuidmap"), newgidmap = helper("newgidmap");
  const reason = idMappingReason(user, subuid, subgid, [newuidmap, newgidmap]);
  return { ok: reason === null, reason, user, uid: m.uid, gid: m.gid, subuid, subgid, newuidmap, newgidmap };
}
