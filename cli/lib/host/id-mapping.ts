import { existingIds, singleWarning, idMapHelper, mappingInput, mapTriples, planMapping, type IdRange, type MappingInput } from "../security/idmap";
import { readText } from "./check";

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
  /** Every range listed for the user, largest first: rl maps them in this order. */
  subuid: IdRange[];
  subgid: IdRange[];
  /** The ids that exist in the user namespace rl runs in (all of them on a host, fewer in a container). */
  existing: { uids: IdRange[]; gids: IdRange[] };
  /** The maps rl writes for a container, as in /proc/PID/uid_map: [container id, host id, count]. */
  uidMap: [number, number, number][];
  gidMap: [number, number, number][];
  newuidmap: HelperInfo;
  newgidmap: HelperInfo;
}

function helper(name: "newuidmap" | "newgidmap"): HelperInfo {
  const h = idMapHelper(name);
  return { ok: h.usable, reason: h.reason ?? null, path: h.path ?? null };
}

export function idMappingReason(user: string, subuid: IdRange[], subgid: IdRange[], helpers: HelperInfo[], single?: string): string | null {
  const noRanges = [subuid.length ? "" : "/etc/subuid", subgid.length ? "" : "/etc/subgid"].filter(Boolean);
  if (noRanges.length) {
    return `${user} has no ranges in ${noRanges.join(" and ")}: only the user's own id is mapped, files owned by other ids become root's ` +
      `(sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user})`;
  }
  if (single) return singleWarning({ uid: 0, gid: 0, single });
  return helpers.find((h) => !h.ok)?.reason ?? null;
}

/** The id mapping rl uses here and why; `input` is read from this process's files unless given. */
export function idMappingInfo(input: MappingInput & { user: string } = mappingInput(readText)): IdMappingInfo {
  const m = planMapping(input);
  const newuidmap = helper("newuidmap"), newgidmap = helper("newgidmap");
  const reason = idMappingReason(input.user, input.subuid, input.subgid, [newuidmap, newgidmap], m.single);
  return {
    ok: reason === null, reason, user: input.user, uid: input.uid, gid: input.gid, subuid: input.subuid, subgid: input.subgid,
    existing: { uids: existingIds(input.uidMap), gids: existingIds(input.gidMap) },
    uidMap: mapTriples(m.uid, m.subuid ?? []), gidMap: mapTriples(m.gid, m.subgid ?? []),
    newuidmap, newgidmap,
  };
}
