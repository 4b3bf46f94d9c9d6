import type { Database } from "bun:sqlite";
import { join } from "node:path";
import { RlError } from "../errors";
import { paths, type Paths } from "../paths";
import { ownProcess, pidStartTime } from "../sys/pid-start-time";
import { monitorAlive, recordedProcessAlive, runnerAlive } from "./container-state";
import { transaction } from "./db";
import { readExitFile } from "./exit-file";
import { checkContainerName, randomName } from "./names";

// The containers table's rows and all of its SQL. Ending and removing a container, which also touches
// files, network helpers and cgroups, is runtime/remove-container.ts, runtime/sweep-stale.ts and runtime/finish-ended.ts.

/** A row of the containers table (its DDL: schema/containers.ts). */
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
  /** The rl that runs a foreground container, and its start time: it records the end, not the sweep. */
  runner_pid: number | null;
  runner_start: string | null;
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
 * Its image must still be stored then. Returns the name recorded.
 */
export function insertContainer(d: Database, p: Paths, row: Omit<ContainerRow, "exit_code" | "finished" | "state" | "pid" | "pid_start" | "started" | "monitor_pid" | "monitor_start" | "runner_pid" | "runner_start">, o: { generated?: boolean; createOnly?: boolean } = {}): string {
  // rl create: no process carries it; its record waits for rl start (see abandoned).
  const own = o.createOnly ? { pid: null, start: null } : ownProcess();
  return transaction(d, p.db, () => {
    // Checked with the insert: rmi and prune delete an image only while no container uses it.
    if (!d.query("SELECT 1 FROM images WHERE id = ?").get(row.image_id)) throw new RlError(`cannot create container ${row.name}: its image ${row.image_id.slice(7, 19)} was removed meanwhile (rl rmi or prune by another command)`);
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
    d.query("UPDATE containers SET state = 'created', pid = ?, pid_start = ?, exit_code = NULL, finished = NULL, monitor_pid = NULL, monitor_start = NULL, runner_pid = NULL, runner_start = NULL WHERE id = ? AND (state = 'exited' OR (state = 'created' AND pid IS NULL))").run(own.pid, own.start, id).changes === 1,
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
 * `foreground`: this rl runs it to its end and records that; until this rl is gone, the sweep leaves
 * the container to it (between the workload's end and the record, a sweep would take it as killed).
 * False when it is not being created any more: rm -f removed it meanwhile (see removedWhileStarting).
 */
export function markRunning(d: Database, p: Paths, id: string, pid: number, o: { foreground: boolean }): boolean {
  const start = pidStartTime(pid);
  const own = ownProcess();
  const [who, since] = start === undefined ? [own.pid, own.start] : [pid, start];
  const runner = o.foreground ? own : { pid: null, start: null };
  return transaction(d, p.db, () => d.query("UPDATE containers SET state = 'running', pid = ?, pid_start = ?, started = ?, runner_pid = ?, runner_start = ? WHERE id = ? AND state = 'created'").run(who, since, Date.now(), runner.pid, runner.start, id).changes === 1, { transient: true });
}

export function markExited(d: Database, p: Paths, id: string, code: number): void {
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'exited', exit_code = ?, finished = ?, pid = NULL WHERE id = ?").run(code, Date.now(), id), { transient: true });
}

/** Record that rm -f or rmi -f is removing the container (its rl, woken by the kill, tells its user why it ended). */
export function markRemoving(d: Database, p: Paths, id: string): void {
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'removing' WHERE id = ?").run(id), { transient: true });
}

/** Mark a container as this command's to remove (state `removing`), if its record is still as read; false if it moved on. */
export function claimForRemoval(d: Database, p: Paths, r: ContainerRow): boolean {
  return transaction(d, p.db, () =>
    d.query("UPDATE containers SET state = 'removing' WHERE id = ? AND state = ? AND pid IS ? AND pid_start IS ?").run(r.id, r.state, r.pid, r.pid_start).changes === 1,
  { transient: true });
}

/**
 * Record how a container being removed (claimForRemoval) ended, unless its own rl recorded the real exit
 * meanwhile (it reaps the workload, then records it).
 */
export function markEndedWhileClaimed(d: Database, p: Paths, id: string, end: { code: number; finished: number }): void {
  transaction(d, p.db, () => d.query("UPDATE containers SET state = 'exited', exit_code = ?, finished = ?, pid = NULL WHERE id = ? AND state = 'removing'").run(end.code, end.finished, id), { transient: true });
}

/** Whether a container this rl is starting was removed meanwhile (rm -f: its record is gone, or claimed for removal). */
export function removedWhileStarting(d: Database, id: string): boolean {
  const r = containerRecord(d, id);
  return !r || r.state === "removing";
}

/** Delete a container's record. */
export function deleteContainerRecord(d: Database, p: Paths, id: string): void {
  transaction(d, p.db, () => d.query("DELETE FROM containers WHERE id = ?").run(id), { transient: true });
}

/** What the container runs and on which storage driver, recorded with its start (in the transaction that marks it running). */
export function recordCommand(d: Database, id: string, command: string, driver: string): void {
  d.query("UPDATE containers SET command = ?, driver = ? WHERE id = ?").run(command, driver, id);
}

/** The monitor of a detached container, recorded once the container runs. */
export function recordMonitor(d: Database, id: string, pid: number): void {
  d.query("UPDATE containers SET monitor_pid = ?, monitor_start = ? WHERE id = ?").run(pid, pidStartTime(pid) ?? "", id);
}

/**
 * A container as it is: one recorded as running whose process is gone shows as exited, with the code
 * its monitor wrote (a detached container) or as killed. The sweep or the monitor's exit command records
 * that, but not on a full disk, and reading must not depend on a write.
 */
function asItIs(r: ContainerRow): ContainerRow {
  if (r.state !== "running" || recordedProcessAlive(r)) return r;
  const end = readExitFile(paths(), r.id);
  // Its monitor (before it wrote the exit file) or its foreground rl records the end in a moment: until
  // then it is as recorded, never "killed" for want of the code.
  if (!end && (monitorAlive(r) || runnerAlive(r))) return r;
  return { ...r, state: "exited", exit_code: end?.code ?? 137, finished: end?.finished ?? r.finished, pid: null };
}

/** A container's record as stored (not checked against its processes, as findContainer does), or null. */
export function containerRecord(d: Database, id: string): ContainerRow | null {
  return d.query("SELECT * FROM containers WHERE id = ?").get(id) as ContainerRow | null;
}

/** The records of every container not recorded as exited, as stored. */
export function unfinishedContainers(d: Database): ContainerRow[] {
  return d.query("SELECT * FROM containers WHERE state != 'exited'").all() as ContainerRow[];
}

/** The recorded processes of the containers recorded as running. */
export function runningProcesses(d: Database): { pid: number; pid_start: string }[] {
  return d.query("SELECT pid, pid_start FROM containers WHERE state = 'running' AND pid IS NOT NULL AND pid_start IS NOT NULL").all() as { pid: number; pid_start: string }[];
}

/** The ids of every recorded container. */
export function containerIds(d: Database): Set<string> {
  return new Set((d.query("SELECT id FROM containers").all() as { id: string }[]).map((r) => r.id));
}

/** Every container's name, sorted (shell completion). */
export function containerNames(d: Database): string[] {
  return (d.query("SELECT name FROM containers ORDER BY name").all() as { name: string }[]).map((r) => r.name);
}

/** How many containers were made from an image. */
export function containerCountOfImage(d: Database, imageId: string): number {
  return (d.query("SELECT COUNT(*) AS n FROM containers WHERE image_id = ?").get(imageId) as { n: number }).n;
}

/** The containers made from an image, as stored. */
export function containersOfImage(d: Database, imageId: string): ContainerRow[] {
  return d.query("SELECT * FROM containers WHERE image_id = ?").all(imageId) as ContainerRow[];
}

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
