import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { randomId, VALID_NAME } from "./names";
import { removePaths, runWorkerJob } from "../rootfs/worker-job";
import { transaction } from "./db";
import { tmpName } from "./tmp-name";
import { pauseForTests } from "../test-pause";

export interface VolumeRow {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
  filled: boolean;
  created: number;
}

interface DbRow {
  name: string;
  driver: string;
  labels: string;
  options: string;
  anonymous: number;
  filled: number;
  created: number;
}

const fromDb = (r: DbRow): VolumeRow => ({ ...r, labels: JSON.parse(r.labels), options: JSON.parse(r.options), anonymous: r.anonymous === 1, filled: r.filled === 1 });

/** The directory a volume's containers mount. */
export const volumeData = (p: Paths, name: string) => join(p.volumes, name, "_data");

/**
 * `--opt` keys rl's local driver knows: nocopy (no filling from the image; also as podman's o=nocopy), uid
 * and gid (the owner of its directory). It keeps volumes as directories: no other mount options.
 */
const OPTION_KEYS = ["nocopy", "uid", "gid", "o"];

export const noCopy = (options: Record<string, string>) => "nocopy" in options || (options.o ?? "").split(",").includes("nocopy");

export function checkVolumeName(name: string): void {
  if (!VALID_NAME.test(name)) throw new RlError(`invalid volume name ${JSON.stringify(name)}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
}

/** `--label K=V` / `--opt K=V` values as an object (a bare K is K=""). */
export function keyValues(list: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const eq = kv.indexOf("=");
    const key = eq < 0 ? kv : kv.slice(0, eq);
    if (!key) throw new RlError(`invalid ${what} ${JSON.stringify(kv)}: use KEY=VALUE`);
    out[key] = eq < 0 ? "" : kv.slice(eq + 1);
  }
  return out;
}

export function checkVolumeOptions(options: Record<string, string>): void {
  for (const [k, v] of Object.entries(options)) {
    if (!OPTION_KEYS.includes(k)) throw new RlError(`invalid volume option ${JSON.stringify(k)} for driver "local": rl knows ${OPTION_KEYS.join(", ")}`);
    if ((k === "uid" || k === "gid") && !/^\d+$/.test(v)) throw new RlError(`invalid volume option ${k}=${v}: a number`);
    if (k === "o" && v !== "nocopy") throw new RlError(`invalid volume option o=${v}: rl's local driver keeps volumes as directories; of the mount options it knows only nocopy`);
  }
}

export function findVolume(d: Database, name: string): VolumeRow | undefined {
  const r = d.query("SELECT * FROM volumes WHERE name = ?").get(name) as DbRow | null;
  return r ? fromDb(r) : undefined;
}

export function requireVolume(d: Database, name: string): VolumeRow {
  const v = findVolume(d, name);
  if (!v) throw new RlError(`no volume with name ${JSON.stringify(name)} found: no such volume`);
  return v;
}

/** Every volume's name, sorted (shell completion). */
export function volumeNames(d: Database): string[] {
  return (d.query("SELECT name FROM volumes ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

export function listVolumes(d: Database): VolumeRow[] {
  return (d.query("SELECT * FROM volumes ORDER BY name").all() as DbRow[]).map(fromDb);
}

/** The ids of the containers that mount volume `name`. */
export function volumeUsers(d: Database, name: string): string[] {
  return (d.query("SELECT DISTINCT container_id FROM container_volumes WHERE volume = ?").all(name) as { container_id: string }[]).map((r) => r.container_id);
}

export interface NewVolume {
  name?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
}

/**
 * Record a volume and make its empty directory; without a name, a random 64-hex one. The record comes
 * first: a directory without one (a killed rl between the two) is replaced here.
 */
export async function createVolume(d: Database, p: Paths, v: NewVolume): Promise<string> {
  const name = v.name ?? randomId();
  checkVolumeName(name);
  checkVolumeOptions(v.options ?? {});
  transaction(d, p.db, () => {
    if (findVolume(d, name)) throw new RlError(`volume with name ${name} already exists: volume already exists`);
    d.query("INSERT INTO volumes (name, driver, labels, options, anonymous, filled, created) VALUES (?, 'local', ?, ?, ?, 0, ?)").run(
      name, JSON.stringify(v.labels ?? {}), JSON.stringify(v.options ?? {}), v.anonymous ? 1 : 0, Date.now());
  });
  try {
    const dir = join(p.volumes, name);
    if (existsSync(dir)) await removePaths(p.tmp, [dir]);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(volumeData(p, name), { mode: 0o755 });
    const { uid, gid } = v.options ?? {};
    if (uid !== undefined || gid !== undefined) {
      await runWorkerJob(p.tmp, { kind: "volumes", layerDirs: [], fills: [], chowns: [{ dir: volumeData(p, name), uid: Number(uid ?? 0), gid: Number(gid ?? 0) }] });
    }
  } catch (err) {
    transaction(d, p.db, () => d.query("DELETE FROM volumes WHERE name = ?").run(name));
    await removePaths(p.tmp, [join(p.volumes, name)]).catch(() => {});
    throw new RlError(`cannot create volume ${name}: ${(err as Error).message}`);
  }
  return name;
}

/** Whether a volume's directory holds nothing (it is filled from the image only then). */
export function volumeEmpty(p: Paths, name: string): boolean {
  try {
    return readdirSync(volumeData(p, name)).length === 0;
  } catch {
    return true;
  }
}

export function markFilled(d: Database, p: Paths, name: string): void {
  transaction(d, p.db, () => d.query("UPDATE volumes SET filled = 1 WHERE name = ?").run(name));
}

/**
 * Remove a volume: refused while a container uses it (rm -f removes those containers first). The record
 * goes first, then the files (some owned by subordinate ids).
 */
export async function removeVolume(d: Database, p: Paths, name: string): Promise<void> {
  transaction(d, p.db, () => {
    const users = volumeUsers(d, name);
    if (users.length) throw new RlError(`volume ${name} is being used by the following container(s): ${users.join(", ")}: volume is being used`, 2);
    d.query("DELETE FROM volumes WHERE name = ?").run(name);
  });
  // Moved to tmp/ first: if this rl is killed while removing, the debris cleaner finishes the job.
  const doomed = tmpName(p, "volume");
  try {
    mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
    renameSync(join(p.volumes, name), doomed);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  pauseForTests("RL_TEST_PAUSE_VOLUME_RM");
  await removePaths(p.tmp, [doomed]);
}

/** The names of the volumes no container uses. */
export function unusedVolumes(d: Database): VolumeRow[] {
  return (d.query("SELECT * FROM volumes WHERE name NOT IN (SELECT volume FROM container_volumes WHERE volume IS NOT NULL) ORDER BY name").all() as DbRow[]).map(fromDb);
}

/** podman's fields of `volume inspect` (and of `volume ls` templates). */
export function volumeRecord(p: Paths, v: VolumeRow) {
  return {
    Name: v.name,
    Driver: v.driver,
    Mountpoint: volumeData(p, v.name),
    CreatedAt: new Date(v.created).toISOString(),
    Labels: v.labels,
    Scope: "local",
    Options: v.options,
  };
}

/** The anonymous volumes container `id` mounts (rm -v and --rm remove them with it). */
export function anonymousVolumesOf(d: Database, id: string): string[] {
  return (d.query("SELECT DISTINCT v.name FROM container_volumes c JOIN volumes v ON v.name = c.volume WHERE c.container_id = ? AND v.anonymous = 1").all(id) as { name: string }[]).map((r) => r.name);
}

/** Destination → volume name of the volumes container `id` mounts. */
export function containerVolumeNames(d: Database, id: string): Map<string, string> {
  const rows = d.query("SELECT destination, volume FROM container_volumes WHERE container_id = ? AND volume IS NOT NULL").all(id) as { destination: string; volume: string }[];
  return new Map(rows.map((r) => [r.destination, r.volume]));
}
