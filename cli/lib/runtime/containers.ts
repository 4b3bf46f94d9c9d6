import type { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { tmpName } from "../store/tmp-name";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { isDiskFull, transaction } from "../store/db";
import { debug } from "../log";
import { cleanDebris } from "../store/debris";
import { removePaths } from "../rootfs/worker-job";
import { unlockForRemoval } from "../rootfs/driver";
import { endStaleHelpers } from "../network/store";
import { ownProcess, pidStartTime } from "../sys/pid-start-time";
import { randomName } from "./names";
import { anonymousVolumesOf, removeVolume, volumeUsers } from "../store/volumes";
import { recordOomKill, removeContainerCgroup, thawContainer } from "./cgroup/container-cgroup";

export interface ContainerRow {
  id: string;
  name: string;
  image_id: string;
  image_name: string;
  command: string;
  driver: string;
  /** removing: rm -f or rmi -f killed it and is removing it (its rl run says so when it wakes). */
  state: "created" | "running" | "exited" | "removing";
  pid: number | null;
  pid_start: string | null;
  exit_code: number | null;
  auto_remove: number;
  created: number;
  finished: number | null;
}

export const containerDir = (p: Paths, id: string) => join(p.containers, id);
export const containerRunDir = (p: Paths, id: string) => join(p.runtime, id);

/**
 * Record a new container, created by this rl process: the record names it as the container's process until
 * markRunning, so a sweep tells whether the rl creating it was killed (the workload itself may have ended
 * already: a zombie its rl has not reaped while it waits to record it). A generated name (`generated`)
 * that is taken is drawn again; the write lock held from the check to the insert makes the check final.
 * Returns the name recorded.
 */
export function insertContainer(d: Database, p: Paths, row: Omit<ContainerRow, "exit_code" | "finished" | "state" | "pid" | "pid_start">, o: { generated?: boolean } = {}): string {
  const own = ownProcess();
  return transaction(d, p.db, () => {
    let name = row.name;
    for (let draws = 1; ; draws++) {
      const taken = d.query("SELECT id FROM containers WHERE name = ?").get(name) as { id: string } | null;
      if (!taken) break;
      if (!o.generated || draws >= 20) throw new RlError(`the container name "${name}" is already in use by ${taken.id.slice(0, 12)}: remove that container (rl rm ${name}) or choose another name`);
      name = randomName();
    }
    d.query(
      "INSERT INTO containers (id, name, image_id, image_name, command, driver, state, pid, pid_start, auto_remove, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(row.id, name, row.image_id, row.image_name, row.command, row.driver, "created", own.pid, own.start, row.auto_remove, row.created);
    return name;
  }, { transient: true });
}

/** The container's first process is being replaced (another storage driver): created again, by this rl (as insertContainer). */
export function forgetPid(d: Database, p: Paths, id: string): void {
  const own = ownProcess();
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'created', pid = ?, pid_start = ? WHERE id = ?").run(own.pid, own.start, id), { transient: true });
}

/**
 * The container runs as `pid`. A workload that has already ended (a zombie until its rl reaps it) has no
 * start time to record: its rl, which records the exit next, stays the process the sweep looks at.
 */
export function markRunning(d: Database, p: Paths, id: string, pid: number): void {
  const start = pidStartTime(pid);
  const own = ownProcess();
  const [who, since] = start === undefined ? [own.pid, own.start] : [pid, start];
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'running', pid = ?, pid_start = ? WHERE id = ?").run(who, since, id), { transient: true });
}

export function markExited(d: Database, p: Paths, id: string, code: number): void {
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'exited', exit_code = ?, finished = ?, pid = NULL WHERE id = ?").run(code, Date.now(), id), { transient: true });
}

/**
 * Kill a running container that rm -f or rmi -f is about to remove, recording first that it is being
 * removed: the rl that runs it, woken by the kill, tells its user why the container ended.
 */
export function killForRemoval(d: Database, p: Paths, c: ContainerRow): void {
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'removing' WHERE id = ?").run(c.id), { transient: true });
  if (!c.pid) return;
  try {
    process.kill(c.pid, "SIGKILL");
  } catch {}
  // A paused container dies of SIGKILL too; thawed, its cgroup does not stay frozen for anything after.
  thawContainer(d, c.id);
}

/**
 * A container as it is: one recorded as running whose process is gone shows as killed. The sweep records
 * that, but cannot on a full disk, and reading must not depend on a write.
 */
function asItIs(r: ContainerRow): ContainerRow {
  return r.state === "running" && !recordedProcessAlive(r) ? { ...r, state: "exited", exit_code: 137, pid: null } : r;
}

/** Whether the container's recorded process (or, while it is created, the rl creating it) still runs. */
function recordedProcessAlive(r: ContainerRow): boolean {
  return r.pid !== null && r.pid_start !== null && pidStartTime(r.pid) === r.pid_start;
}

/** A container's state as ps shows it: a running one whose cgroup is frozen (pausedContainers) is paused. */
export const shownState = (r: ContainerRow, paused: Set<string>): string => (r.state === "running" && paused.has(r.id) ? "paused" : r.state);

/** Every container, newest first. */
export function listContainers(d: Database): ContainerRow[] {
  return (d.query("SELECT * FROM containers ORDER BY created DESC").all() as ContainerRow[]).map(asItIs);
}

/** Find a container by name, full id or id prefix. */
export function findContainer(d: Database, text: string): ContainerRow | undefined {
  const byName = d.query("SELECT * FROM containers WHERE name = ?").get(text) as ContainerRow | null;
  if (byName) return asItIs(byName);
  if (!/^[0-9a-f]{1,64}$/.test(text)) return undefined;
  const rows = d.query("SELECT * FROM containers WHERE id LIKE ?").all(`${text}%`) as ContainerRow[];
  if (rows.length > 1) throw new RlError(`${text} matches ${rows.length} containers: use more of the id`);
  return rows[0] && asItIs(rows[0]);
}

/**
 * Remove a container's files and record. Files the workload created as other users belong to
 * subordinate ids: those are removed from inside a user namespace.
 */
export async function removeContainer(d: Database, p: Paths, id: string, o: { volumes?: boolean } = {}): Promise<void> {
  await removePaths(p.tmp, [containerRunDir(p, id)]);
  // As layers go (store/collect.ts): out of containers/ in one rename, then the record, then the files. A
  // kill in between leaves a tmp/ entry naming the container: the sweep deletes its record too (debris.ts).
  const dir = containerDir(p, id);
  unlockForRemoval(dir);
  const aside = `${tmpName(p, "rm")}-${id}`;
  try {
    mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
    renameSync(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const anonymous = o.volumes ? anonymousVolumesOf(d, id) : [];
  await removeContainerCgroup(d, id);
  transaction(d, p.db, () => d.query("DELETE FROM containers WHERE id = ?").run(id), { transient: true });
  await removePaths(p.tmp, [aside]);
  // With -v (and --rm): the anonymous volumes no other container uses any more.
  for (const v of anonymous) if (!volumeUsers(d, v).length) await removeVolume(d, p, v);
}

/**
 * Containers recorded as running whose process is gone (rl was killed): mark them exited, and remove
 * those started with --rm. Also clears the store's tmp dir of what killed rl processes left there.
 */
export async function sweepStale(d: Database, p: Paths): Promise<void> {
  await cleanDebris(d, p);
  const rows = d.query("SELECT * FROM containers WHERE state != 'exited'").all() as ContainerRow[];
  for (const r of rows) {
    const alive = recordedProcessAlive(r);
    // A container being created has the rl creating it recorded (insertContainer, forgetPid); a record
    // with no process (an older rl's, between two attempts) gets a minute.
    const fresh = r.state === "created" && r.pid === null && Date.now() - r.created < 60_000;
    if (alive || fresh) continue;
    // The rows were read before: the rl of this one may have recorded it running or exited since, and
    // ended. Act only if the record is still the one judged stale (the rl's own updates win).
    try {
      if (!claimStale(d, p, r)) continue;
      endStaleHelpers(d, p, r.id, pidStartTime);
      recordOomKill(d, p, r.id);
      await removeContainerCgroup(d, r.id);
      if (r.auto_remove || r.state === "created") await removeContainer(d, p, r.id, { volumes: true });
      // Unless its own rl recorded the real exit meanwhile (it reaps the workload, then records it).
      else transaction(d, p.db, () => d.query("UPDATE containers SET state = 'exited', exit_code = 137, finished = ?, pid = NULL WHERE id = ? AND state = 'removing'").run(Date.now(), r.id), { transient: true });
    } catch (err) {
      // On a full disk the command goes on (listContainers shows the container as killed); a later sweep records it.
      if (!isDiskFull(err)) throw err;
      debug(`sweep: container ${r.id.slice(0, 12)} left for later: ${(err as Error).message}`);
    }
  }
  await removeUnrecorded(d, p);
}

/** Mark a stale container as the sweep's (state `removing`), if its record is still as read; false if it moved on. */
function claimStale(d: Database, p: Paths, r: ContainerRow): boolean {
  return transaction(d, p.db, () =>
    d.query("UPDATE containers SET state = 'removing' WHERE id = ? AND state = ? AND pid IS ? AND pid_start IS ?").run(r.id, r.state, r.pid, r.pid_start).changes === 1,
  { transient: true });
}

/**
 * Remove the store's container directories that have no record. A record is committed before its
 * container's directory is made and deleted after it is removed, so these are what a power loss left:
 * it can take back a record committed without a sync (transaction's `transient`). (The runtime dirs are
 * not looked at: several stores may share that parent, and a power loss empties it anyway, a tmpfs.)
 */
async function removeUnrecorded(d: Database, p: Paths): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(p.containers);
  } catch {
    return;
  }
  if (!names.length) return;
  const known = new Set((d.query("SELECT id FROM containers").all() as { id: string }[]).map((r) => r.id));
  const unrecorded = names.filter((n) => !known.has(n) && CONTAINER_ID.test(n)).map((n) => join(p.containers, n));
  if (unrecorded.length) await removePaths(p.tmp, unrecorded);
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;
