import type { Database } from "bun:sqlite";
import { mkdirSync, readdirSync, renameSync } from "node:fs";
import { tmpName } from "../store/tmp-name";
import { join } from "node:path";
import { RlError } from "../errors";
import { paths, type Paths } from "../paths";
import { isDiskFull, transaction } from "../store/db";
import { debug } from "../log";
import { cleanDebris } from "../store/debris";
import { removePaths } from "../rootfs/worker-job";
import { unlockForRemoval } from "../rootfs/driver";
import { endStaleHelpers } from "../network/store";
import { ownProcess, pidStartTime } from "../sys/pid-start-time";
import { checkContainerName, randomName } from "../store/names";
import { anonymousVolumesOf, removeVolume, volumeUsers } from "../store/volumes";
import { recordOomKill, removeContainerCgroup, thawContainer } from "./cgroup/container-cgroup";
import { readExitFile } from "../store/exit-file";

/** A row of the containers table (its DDL: store/schema/containers.ts). */
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
  /** When it last started (ms since the epoch). */
  started: number | null;
  /** The monitor process of a detached container, and its /proc/PID/stat start time. */
  monitor_pid: number | null;
  monitor_start: string | null;
  /** JSON: the container's creation config. */
  config: string | null;
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
export function insertContainer(d: Database, p: Paths, row: Omit<ContainerRow, "exit_code" | "finished" | "state" | "pid" | "pid_start" | "started" | "monitor_pid" | "monitor_start">, o: { generated?: boolean; createOnly?: boolean } = {}): string {
  // rl create: no process carries it; its record waits for rl start (see abandoned).
  const own = o.createOnly ? { pid: null, start: null } : ownProcess();
  return transaction(d, p.db, () => {
    let name = row.name;
    for (let draws = 1; ; draws++) {
      const taken = d.query("SELECT id FROM containers WHERE name = ?").get(name) as { id: string } | null;
      if (!taken) break;
      if (!o.generated || draws >= 20) throw new RlError(`the container name "${name}" is already in use by ${taken.id.slice(0, 12)}: remove that container (rl rm ${name}) or choose another name`);
      name = randomName();
    }
    d.query(
      "INSERT INTO containers (id, name, image_id, image_name, command, driver, state, pid, pid_start, auto_remove, created, config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(row.id, name, row.image_id, row.image_name, row.command, row.driver, "created", own.pid, own.start, row.auto_remove, row.created, row.config);
    return name;
  }, { transient: true });
}

/**
 * rl start of a stopped container (exited, or created by rl create): it is this rl's to start, as a new
 * one is (insertContainer); false when it is not stopped any more (started or removed meanwhile).
 */
export function claimForStart(d: Database, p: Paths, id: string): boolean {
  const own = ownProcess();
  return transaction(d, p.db, () =>
    d.query("UPDATE containers SET state = 'created', pid = ?, pid_start = ?, exit_code = NULL, finished = NULL, monitor_pid = NULL, monitor_start = NULL WHERE id = ? AND (state = 'exited' OR (state = 'created' AND pid IS NULL))").run(own.pid, own.start, id).changes === 1,
  { transient: true });
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
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'running', pid = ?, pid_start = ?, started = ? WHERE id = ?").run(who, since, Date.now(), id), { transient: true });
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
 * A container as it is: one recorded as running whose process is gone shows as exited, with the code
 * its monitor wrote (a detached container) or as killed. The sweep or the monitor's exit command records
 * that, but not on a full disk, and reading must not depend on a write.
 */
function asItIs(r: ContainerRow): ContainerRow {
  if (r.state !== "running" || recordedProcessAlive(r)) return r;
  const end = readExitFile(paths(), r.id);
  return { ...r, state: "exited", exit_code: end?.code ?? 137, finished: end?.finished ?? r.finished, pid: null };
}

/** The monitor of a detached container, recorded once the container runs. */
export function recordMonitor(d: Database, id: string, pid: number): void {
  d.query("UPDATE containers SET monitor_pid = ?, monitor_start = ? WHERE id = ?").run(pid, pidStartTime(pid) ?? "", id);
}

/** Whether a detached container's monitor still runs (its exit command then records the container's end). */
function monitorAlive(r: ContainerRow): boolean {
  return r.monitor_pid !== null && pidStartTime(r.monitor_pid) === r.monitor_start;
}

/** Whether the container's recorded process (or, while it is created, the rl creating it) still runs. */
function recordedProcessAlive(r: ContainerRow): boolean {
  return r.pid !== null && r.pid_start !== null && pidStartTime(r.pid) === r.pid_start;
}

/** Whether the container runs: recorded as running, and that process is still the one recorded. */
export function processRuns(r: ContainerRow): boolean {
  return r.state === "running" && recordedProcessAlive(r);
}

/** A container's state as ps shows it: a running one whose cgroup is frozen (pausedContainers) is paused. */
export const shownState = (r: ContainerRow, paused: Set<string>): string => (r.state === "running" && paused.has(r.id) ? "paused" : r.state);

/**
 * Whether no process carries the container on: its recorded one is gone. A container being created has
 * the rl creating it recorded (insertContainer, forgetPid); a record with no process (an older rl's,
 * between two attempts) gets a minute.
 */
function abandoned(r: ContainerRow): boolean {
  const fresh = r.state === "created" && r.pid === null && Date.now() - r.created < 60_000;
  return !recordedProcessAlive(r) && !fresh && !monitorAlive(r) && !waitsForStart(r);
}

/** Made by rl create (its configuration kept, no process): it waits for rl start. */
const waitsForStart = (r: ContainerRow) => r.state === "created" && r.pid === null && r.config !== null;

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

/** Find a container (as findContainer), or fail saying there is none. */
export function requireContainer(d: Database, text: string): ContainerRow {
  const c = findContainer(d, text);
  if (!c) throw new RlError(`no such container: ${text}`);
  return c;
}

/**
 * Give a container, running or not, another name. Only the record changes: as in podman, the name the
 * container's /etc/hosts already gives it stays. The write lock held from the check to the update makes
 * the check final.
 */
export function renameContainer(d: Database, p: Paths, c: ContainerRow, name: string): void {
  checkContainerName(name);
  transaction(d, p.db, () => {
    const taken = d.query("SELECT id FROM containers WHERE name = ?").get(name) as { id: string } | null;
    if (taken && taken.id !== c.id) throw new RlError(`cannot rename container ${c.name} to ${name}: the name is already in use by ${taken.id.slice(0, 12)}`);
    if (d.query("UPDATE containers SET name = ? WHERE id = ? AND state != 'removing'").run(name, c.id).changes !== 1) throw new RlError(`cannot rename container ${c.name}: it is being removed`);
  });
}

/**
 * Remove every stopped container (exited, or created by an rl that is gone) that `matches`, and return
 * their ids. Each is claimed first, as the sweep claims one, so a container that moved on meanwhile
 * (removed, started) stays.
 */
export async function pruneContainers(d: Database, p: Paths, matches: (c: ContainerRow) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const c of listContainers(d)) {
    const stopped = c.state === "exited" || (c.state === "created" && (abandoned(c) || waitsForStart(c)));
    if (!stopped || !matches(c) || !claimForRemoval(d, p, c)) continue;
    await removeContainer(d, p, c.id);
    removed.push(c.id);
  }
  return removed;
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
  // A detached container's network helpers are no rl's own to stop: they go with its record. (A
  // foreground container's rl stops its own, letting the forwarder send on what it holds.)
  if ((d.query("SELECT monitor_pid FROM containers WHERE id = ?").get(id) as { monitor_pid: number | null } | null)?.monitor_pid) endStaleHelpers(d, p, id, pidStartTime);
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
    if (!abandoned(r)) continue;
    try {
      await finishEnded(d, p, r);
    } catch (err) {
      // On a full disk the command goes on (listContainers shows the container as killed); a later sweep records it.
      if (!isDiskFull(err)) throw err;
      debug(`sweep: container ${r.id.slice(0, 12)} left for later: ${(err as Error).message}`);
    }
  }
  await removeUnrecorded(d, p);
}

/**
 * Record the end of a container whose process is gone (`r` as read): its helpers and cgroup go, then it
 * is exited with the code its monitor wrote, or as killed; removed if started with --rm.
 */
async function finishEnded(d: Database, p: Paths, r: ContainerRow): Promise<void> {
  // The row was read before: its rl may have recorded it running or exited since, and ended. Act only
  // if the record is still the one judged ended (the rl's own updates win).
  if (!claimForRemoval(d, p, r)) return;
  endStaleHelpers(d, p, r.id, pidStartTime);
  recordOomKill(d, p, r.id);
  await removeContainerCgroup(d, r.id);
  if (r.auto_remove || r.state === "created") return removeContainer(d, p, r.id, { volumes: true });
  const end = readExitFile(p, r.id) ?? { code: 137, finished: Date.now() };
  // Unless its own rl recorded the real exit meanwhile (it reaps the workload, then records it).
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'exited', exit_code = ?, finished = ?, pid = NULL WHERE id = ? AND state = 'removing'").run(end.code, end.finished, r.id), { transient: true });
}

/**
 * A detached container's exit command (`rl __cleanup ID`, run by its monitor once the container ended
 * and the exit file is written): record its end as the sweep would, now.
 */
export async function cleanupDetached(d: Database, p: Paths, id: string): Promise<void> {
  const r = d.query("SELECT * FROM containers WHERE id = ?").get(id) as ContainerRow | null;
  if (!r || r.state !== "running" || recordedProcessAlive(r)) return;
  await finishEnded(d, p, r);
}

/** Mark a container as this command's to remove (state `removing`), if its record is still as read; false if it moved on. */
function claimForRemoval(d: Database, p: Paths, r: ContainerRow): boolean {
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
