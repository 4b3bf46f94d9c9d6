import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RlError } from "../../errors";
import { debug, warnOnce } from "../../log";
import type { Paths } from "../../paths";
import { transaction } from "../../store/db";
import { cgroupInfo, type CgroupInfo } from "../../host/cgroups";
import type { CgroupWrite, Controller, Limits } from "./limits";
import type { ContainerRow } from "../../store/containers-table";
import { cgroupFrozen, thawCgroup } from "./freezer";
import { helpersCgroup } from "./mount-helpers";

// A container with resource limits gets a cgroup of its own, in the subtree the host delegated to the
// user: <delegated>/rl-<id>. rl moves the container's first process there before releasing it (the
// process then enters a new cgroup namespace, whose root is that cgroup), and removes it with the
// container. Without limits nothing here runs: the container stays in rl's own cgroup, as before.

const delegate = (controller: string) => `limits need cgroup v2 with the ${controller} controller delegated to you by systemd (Delegate=yes in user@.service)`;

/** The file a write lands in: the first of its alternatives the kernel has, or none (ifPresent). */
function resolveFile(dir: string, w: CgroupWrite): { file: string; value: string } | null {
  if (w.alternatives) return w.alternatives.find((a) => existsSync(join(dir, a.file))) ?? null;
  if (w.ifPresent && !existsSync(join(dir, w.file))) return null;
  return { file: w.file, value: w.value };
}

/**
 * Where the container's cgroup goes, or null when no limit is asked for. Throws (before anything is
 * created) when this host cannot enforce one of them, saying why and what to do.
 */
export function cgroupParent(limits: Limits, uid: number, info: () => CgroupInfo = () => cgroupInfo(uid)): string | null {
  if (!limits.writes.length) return null;
  const c = info();
  const first = limits.writes[0]!;
  if (!c.ok || !c.delegatedPath) throw new RlError(`cannot set ${first.flag}: ${c.reason}; ${delegate(first.controller)}`);
  if (!c.insideDelegated) {
    throw new RlError(
      `cannot set ${first.flag}: rl runs in the cgroup ${c.ownPath}, outside the subtree delegated to you (${c.delegatedPath}), ` +
        "and the kernel moves a process only between cgroups the user may write both sides of; start rl from inside it (e.g. systemd-run --user --scope rl run ...)",
    );
  }
  checkWrites(c.delegatedPath, c.controllers, limits);
  return c.delegatedPath;
}

/** Whether every limit can be written below `parent`, whose cgroup.controllers are `controllers`. */
function checkWrites(parent: string, controllers: string[], limits: Limits): void {
  for (const w of limits.writes) {
    if (!controllers.includes(w.controller)) {
      throw new RlError(`cannot set ${w.flag}: the ${w.controller} controller is not delegated to ${parent} (it has: ${controllers.join(" ") || "none"}); ${delegate(w.controller)}`);
    }
    if (!w.ifPresent && !resolveFile(parent, w)) {
      const files = w.alternatives ? w.alternatives.map((a) => a.file).join(" or ") : w.file;
      throw new RlError(`cannot set ${w.flag}: this kernel has no ${files} (the ${w.controller} controller here does not offer it)`);
    }
  }
}

function cgroupError(action: string, err: unknown, dir: string): RlError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "EBUSY" && action.startsWith("enable")) {
    return new RlError(`cannot ${action}: ${dir} holds processes itself, and cgroup v2 enables controllers only for the children of a cgroup without processes of its own; run rl from a leaf cgroup below it`);
  }
  return new RlError(`cannot ${action}: ${e.code ?? ""}${e.code ? " " : ""}${(e.message ?? String(err)).replace(/^E[A-Z]+: /, "")}`, 125, e.code);
}

export const containerCgroupPath = (parent: string, id: string) => join(parent, `rl-${id}`);

/**
 * Create the container's cgroup under `parent` and write its limits. It is recorded first, so that a
 * removal (or the sweep after a killed rl) finds it whatever happens next.
 */
export function createContainerCgroup(d: Database, p: Paths, id: string, parent: string, limits: Limits): string {
  const dir = containerCgroupPath(parent, id);
  transaction(d, p.db, () => d.query("INSERT INTO container_cgroups (container_id, path) VALUES (?, ?)").run(id, dir), { transient: true });
  enableControllers(parent, limits);
  try {
    mkdirSync(dir);
  } catch (err) {
    throw cgroupError(`create the cgroup ${dir}`, err, dir);
  }
  writeLimits(dir, limits);
  return dir;
}

/** What `rl stats` reads besides cpu.stat: enabled for the children where the parent has them. */
const ACCOUNTED: Controller[] = ["cpu", "memory", "pids", "io"];

const words = (file: string) => readFileSync(file, "utf8").split(/\s+/).filter(Boolean);

/**
 * Enable the limits' controllers for the children of `parent` (failing says why), and the others stats
 * read where `parent` has them (best effort: accounting only).
 */
function enableControllers(parent: string, limits: Limits): void {
  const enabled = words(join(parent, "cgroup.subtree_control"));
  const wanted = [...new Set(limits.writes.map((w) => w.controller))].filter((c) => !enabled.includes(c));
  if (wanted.length) {
    try {
      writeFileSync(join(parent, "cgroup.subtree_control"), wanted.map((c) => `+${c}`).join(" "));
    } catch (err) {
      throw cgroupError(`enable ${wanted.join(", ")} in ${parent}`, err, parent);
    }
  }
  const more = ACCOUNTED.filter((c) => !enabled.includes(c) && !wanted.includes(c));
  if (!more.length) return;
  const available = words(join(parent, "cgroup.controllers"));
  for (const c of more.filter((m) => available.includes(m))) {
    try {
      writeFileSync(join(parent, "cgroup.subtree_control"), `+${c}`);
    } catch (err) {
      debug(`not accounting ${c} in ${parent}: ${(err as Error).message}`);
    }
  }
}

/** Write the limits' files in the cgroup `dir`. */
function writeLimits(dir: string, limits: Limits): void {
  for (const w of limits.writes) {
    const target = resolveFile(dir, w);
    if (!target) continue;
    try {
      writeFileSync(join(dir, target.file), target.value);
    } catch (err) {
      throw cgroupError(`set ${w.flag} (${target.file} = ${target.value})`, err, dir);
    }
  }
}

/**
 * `rl update`: new limits for the running container whose cgroup is `dir`, written as `rl run` writes
 * them (a controller the cgroup lacks is enabled first, in its parent).
 */
export function updateCgroupLimits(dir: string, limits: Limits): void {
  const parent = dirname(dir);
  checkWrites(parent, words(join(parent, "cgroup.controllers")), limits);
  enableControllers(parent, limits);
  writeLimits(dir, limits);
}

/** Move a process (the container's first, not yet released) into the container's cgroup. */
export function enterCgroup(dir: string, pid: number): void {
  try {
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
  } catch (err) {
    throw cgroupError(`move the container into ${dir}`, err, dir);
  }
}

/** The oom_kill count of memory.events (0 when there is none). */
export function oomKills(dir: string): number {
  try {
    const m = /^oom_kill (\d+)$/m.exec(readFileSync(join(dir, "memory.events"), "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Raise the container's oom_score_adj (a lower value than rl's own needs CAP_SYS_RESOURCE on the host). */
export function setOomScoreAdj(pid: number, value: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const own = readFileSync("/proc/self/oom_score_adj", "utf8").trim();
    if (e.code === "EACCES" || e.code === "EPERM") throw new RlError(`cannot set --oom-score-adj ${value}: an unprivileged user may only raise it (rl's own is ${own})`);
    throw cgroupError(`set --oom-score-adj ${value}`, err, "");
  }
}

/** The cgroup of the container's own, while it exists (rl made one: the container was given a limit). */
export function containerCgroupDir(d: Database, id: string): string | null {
  const row = rowOf(d, id);
  return row && existsSync(row.path) ? row.path : null;
}

/** Why a container has no cgroup of its own: the host's reason, or that it was started without a limit. */
export function noCgroupReason(uid: number): string {
  const c = cgroupInfo(uid);
  if (!c.ok) return c.reason!;
  return "it was started without a resource limit, and rl gives a container its own cgroup only with one of rl run's limit flags (--pids-limit -1 is one without a limit)";
}

/**
 * The cgroup of a running container, for `action` ("pause container web"), or one line that says why
 * there is none; `what` names what is missing besides ("so no cgroup v2 freezer").
 */
export function runningContainerCgroup(d: Database, c: ContainerRow, action: string, what = ""): string {
  if (c.state !== "running") throw new RlError(`cannot ${action}: it is not running`);
  const dir = containerCgroupDir(d, c.id);
  if (!dir) throw new RlError(`cannot ${action}: it has no cgroup of its own${what ? `, ${what}` : ""}: ${noCgroupReason(process.getuid!())}`);
  return dir;
}

/** The running containers whose cgroup is frozen (rl pause): the kernel's word, cgroup.events. */
export function pausedContainers(d: Database): Set<string> {
  const rows = d.query("SELECT g.container_id AS id, g.path FROM container_cgroups g JOIN containers c ON c.id = g.container_id WHERE c.state = 'running'").all() as { id: string; path: string }[];
  return new Set(rows.filter((r) => cgroupFrozen(r.path)).map((r) => r.id));
}

/** Thaw a container's cgroup if it is frozen, after a signal that must reach it (a kill of a paused container). */
export function thawContainer(d: Database, id: string): void {
  const dir = containerCgroupDir(d, id);
  if (!dir || !cgroupFrozen(dir)) return;
  try {
    thawCgroup(dir);
  } catch (err) {
    warnOnce(`cannot thaw the cgroup ${dir}: ${(err as Error).message}`);
  }
}

interface CgroupRow {
  path: string;
  oom_killed: number;
}

const rowOf = (d: Database, id: string) => d.query("SELECT path, oom_killed FROM container_cgroups WHERE container_id = ?").get(id) as CgroupRow | null;

/** The container's own cgroup, or undefined when it has none (it runs in rl's). */
export function containerCgroup(d: Database, id: string): string | undefined {
  return rowOf(d, id)?.path;
}

/** Whether the kernel's OOM killer ended a process of the container (recorded when it exited). */
export function containerOomKilled(d: Database, id: string): boolean {
  return rowOf(d, id)?.oom_killed === 1;
}

/** After the container's exit: record an OOM kill in it. */
export function recordOomKill(d: Database, p: Paths, id: string): boolean {
  const row = rowOf(d, id);
  if (!row || !oomKills(row.path)) return false;
  transaction(d, p.db, () => d.query("UPDATE container_cgroups SET oom_killed = 1 WHERE container_id = ?").run(id), { transient: true });
  return true;
}

/**
 * Remove the container's cgroup, if it has one (its record goes with the container's). Processes that
 * outlived the container (a killed rl's) are killed first, through cgroup.kill.
 */
export async function removeContainerCgroup(d: Database, id: string): Promise<void> {
  const row = rowOf(d, id);
  if (!row) return;
  // The container's cgroup, and the one beside it where its mount helpers wait while it is paused.
  for (const path of [row.path, helpersCgroup(row.path)]) await removeCgroup(path);
}

async function removeCgroup(path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(path);
      if (attempt) debug(`removed ${path} after ${attempt} busy attempts`);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      // The last processes leave the cgroup a moment after their exit is seen.
      if (code !== "EBUSY" || attempt === 40) {
        warnOnce(`cannot remove the cgroup ${path}: ${(err as Error).message}`);
        return;
      }
      if (attempt === 5) {
        try {
          writeFileSync(join(path, "cgroup.kill"), "1");
        } catch {}
      }
      await Bun.sleep(25);
    }
  }
}
