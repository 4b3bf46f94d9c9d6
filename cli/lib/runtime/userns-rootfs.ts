import { userInfo } from "node:os";
import { RlError } from "../errors";
import { hasFullMapping, hostId, idLines, type IdLine, type IdMapping } from "../security/idmap";
import { usernsText, type UsernsMode } from "../security/userns";
import type { StorageDriver } from "../rootfs/driver";
import { readImageFile } from "../rootfs/image-file";

// --userns=keep-id and nomap map ids otherwise than the store, whose files are owned as the user's own
// namespace sees them (the user as root). As podman chowns a copy of the image for such a container, rl
// gives it a vfs copy whose owners are shifted so that each file shows its stored owner.

/** keep-id and nomap containers get a copy of the image (vfs), with their own owners. */
export function usernsDrivers(forced: StorageDriver | undefined): StorageDriver[] {
  if (forced && forced !== "vfs") throw new RlError(`cannot use --storage-driver ${forced} with --userns: its containers get a copy of the image with their own owners (vfs)`);
  return ["vfs"];
}

/** keep-id's user, as podman runs it: the mapped uid and gid (unless -u says otherwise). */
export function keepIdUser(u: UsernsMode, m: IdMapping): string | undefined {
  if (u.mode !== "keep-id") return undefined;
  const own = (lines: IdLine[], host: number) => lines.find((l) => l.outside === host && l.count === 1)!.inside;
  return `${own(idLines(m, "uid"), m.uid)}:${own(idLines(m, "gid"), m.gid)}`;
}

function hasId(file: string | undefined, id: number): boolean {
  return (file ?? "").split("\n").some((l) => l.split(":")[2] === String(id));
}

function hasName(file: string | undefined, name: string): boolean {
  return (file ?? "").split("\n").some((l) => l.split(":")[0] === name);
}

/**
 * The flatten job's extras for a container with its own map: owners as it sees them, and for keep-id
 * the user's /etc/passwd and /etc/group entries where the image has none (as podman adds them).
 */
export function usernsCopy(u: UsernsMode, store: IdMapping, container: IdMapping, user: { uid: number; gid: number }, lowerTopFirst: string[]) {
  if (!container.lines) return {};
  const owners = { stored: { uid: idLines(store, "uid"), gid: idLines(store, "gid") }, container: container.lines };
  if (u.mode !== "keep-id") return { owners };
  const passwd = readImageFile(lowerTopFirst, "etc/passwd"), group = readImageFile(lowerTopFirst, "etc/group");
  let name = String(user.uid);
  try {
    if (user.uid === store.uid) name = userInfo().username;
  } catch {}
  if (hasName(passwd, name) || !/^[a-z_][a-z0-9_.-]*$/i.test(name)) name = String(user.uid);
  const etc: { passwd?: string; group?: string } = {};
  if (!hasId(passwd, user.uid) && !hasName(passwd, name)) etc.passwd = `${name}:*:${user.uid}:${user.gid}:${name === String(user.uid) ? "container user" : ""}:/:/bin/sh`;
  if (!hasId(group, user.gid) && !hasName(group, name)) etc.group = `${name}:x:${user.gid}:${name}`;
  return { owners, etc };
}

/**
 * With its own map the container's first process is not its root (keep-id: the user's uid; nomap: an
 * unmapped id): it becomes root, when root is mapped, before it sets the container up (see planOps).
 */
export function setupAsRoot(m: IdMapping): boolean {
  return m.lines !== undefined && hostId(idLines(m, "uid"), 0) !== undefined;
}

/** Networks a container with its own map cannot have: another's (its user namespace comes with it), and
 * slirp4netns where root is not mapped (it switches to gid 0 in the container's namespace). */
export function checkUsernsNetwork(u: UsernsMode, base: IdMapping, network: string): void {
  if (u.mode === "default") return;
  const asked = `--userns=${usernsText(u)}`;
  if (network.startsWith("container:")) throw new RlError(`cannot use ${asked} with --network ${network}: the container joins that one's user namespace`);
  if (!hasFullMapping(base) && (network === "slirp4netns" || network.startsWith("slirp4netns:"))) {
    throw new RlError(`cannot use ${asked} with slirp4netns without subordinate ids in /etc/subuid and /etc/subgid: the container's root is not mapped, which slirp4netns needs; use --network none or host`);
  }
}
