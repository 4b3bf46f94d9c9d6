import { closeSync, fstatSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { checkWorkdir } from "./check-run-options";
import { readConfinedFile } from "../rootfs/confined-file";
import { allCaps } from "../security/capabilities";
import { seccompProgram } from "../security/seccomp-program";
import { AT_FDCWD, O, openat2 } from "../sys/libc";
import { abortChild, JOIN_ORDER, spawnChild, type Spawned } from "../sys/executor";
import { processAlive } from "../sys/pid-start-time";
import { strerror } from "../sys/errno";
import { attachStdio, detachStdio } from "./attach-stdio";
import { enterCgroup, containerCgroup } from "./cgroup/container-cgroup";
import { closeJoinFds, releaseWithOps } from "./container-process";
import { containerRunDir, findContainer, type ContainerRow } from "../store/containers-table";
import type { Op } from "../sys/ops";
import { processOps } from "./plan";
import { forwardSignals } from "./signal-forwarding";
import { mergeEnv, userEnv, type Spec } from "./spec";
import { stdioPipes } from "./stdio-relay";
import { checkUserInMaps, resolveUser } from "./user";
import { waitForExit } from "../sys/wait";
import { holdTerminal, monitorMissing } from "../sys/monitor";

// `rl exec`: a process in the namespaces of a running container's first process, set up as that
// process was (the runtime spec rl saved when it started), with exec's options on top (podman's rules).

export interface ExecOptions {
  container: string;
  command: string[];
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  env: string[];
  envFiles: string[];
  user?: string;
  workdir?: string;
  privileged: boolean;
}

/** /proc/PID/ns names of JOIN_ORDER's namespaces. */
const NS_FILES: Record<(typeof JOIN_ORDER)[number], string> = { user: "user", mount: "mnt", pid: "pid", uts: "uts", ipc: "ipc", network: "net", cgroup: "cgroup" };

const notRunning = (name: string, state: string) => new RlError(`can only create exec sessions on running containers: ${name} is not running (${state})`);

/** `rl exec`: run a command in a running container; its exit code (with -d: 0 once it has started). */
export async function execInContainer(d: Database, p: Paths, o: ExecOptions): Promise<number> {
  if (o.workdir !== undefined) checkWorkdir(o.workdir);
  // -dt: its terminal's holder is the monitor program (checked before the command starts).
  const noHolder = o.detach && o.tty ? monitorMissing() : undefined;
  if (noHolder) throw new RlError(`cannot use -t with -d: ${noHolder}`);
  const added = userEnv(o);
  const c = findContainer(d, o.container);
  if (!c) throw new RlError(`no such container: ${o.container}`);
  if (c.state !== "running" || c.pid === null || c.pid_start === null) throw notRunning(o.container, c.state === "removing" ? "being removed" : c.state);
  const spec = runtimeSpec(p, c.id, o.container);
  const target = openContainer(c, o.container);
  // Started first: the executor starts up while its op list is made. It joins the namespaces once released.
  let spawned: Spawned;
  try {
    spawned = spawnChild(0, o.tty, target.join, false, o.detach ? 0 : stdioPipes(o));
  } catch (err) {
    closeContainer(target);
    throw new RlError(`cannot start a process in container ${o.container}: ${strerror((err as { errno: number }).errno)}`);
  }
  closeJoinFds(target.join);
  const exited = waitForExit(spawned.pid);
  let ops: Op[];
  try {
    ops = await execOps(p, spec, o, added, target.root);
    const cgroup = containerCgroup(d, c.id);
    if (cgroup) enterCgroup(cgroup, spawned.pid);
  } catch (err) {
    abortChild(spawned);
    await exited;
    throw err;
  } finally {
    closeSync(target.root);
  }
  const signals = o.detach ? undefined : forwardSignals();
  let started;
  try {
    started = await releaseWithOps(spawned, exited, ops, { joined: `the namespaces of container ${o.container}` });
  } catch (err) {
    signals?.stop();
    // The container ended meanwhile: its pid namespace takes no new process (ENOMEM on the fork).
    if (!processAlive(c.pid, c.pid_start)) throw notRunning(o.container, "exited");
    // As podman: a detached command that could not start is exec's own failure.
    if (o.detach && err instanceof RlError) throw new RlError(err.message);
    throw err;
  }
  if (!signals) {
    // -dt: a small holder keeps its terminal (and drops what it shows) once rl is gone.
    if (started.ptyMaster >= 0) holdTerminal(started.ptyMaster);
    await exited;
    return 0;
  }
  signals.to(started.pid);
  const stdio = attachStdio(started, o.interactive);
  const code = await started.exited;
  await detachStdio(stdio);
  signals.stop();
  return code;
}

/**
 * The exec'd process's op list: its setup (execProcess) under the container's seccomp filter, forked
 * into the container's pid namespace by a process that stays outside (init), or left to it (detach).
 */
async function execOps(p: Paths, spec: Spec, o: ExecOptions, added: string[], root: number): Promise<Op[]> {
  const proc = execProcess(spec, o, added, root);
  const seccomp = spec.linux.seccomp && (await seccompProgram(spec.linux.seccomp, p));
  const keepGroups = o.user === undefined && spec.annotations["run.oci.keep_original_groups"] === "1";
  return processOps(proc, { interactive: o.interactive, fork: o.detach ? "detach" : "init", seccomp, keepGroups });
}

/** The runtime spec rl saved when the container started (with its runtime state: gone after a reboot). */
function runtimeSpec(p: Paths, id: string, name: string): Spec {
  try {
    return JSON.parse(readFileSync(join(containerRunDir(p, id), "config.json"), "utf8")) as Spec;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new RlError(`cannot exec in container ${name}: ${missing ? "its runtime spec is gone (was it started by an older rl?)" : `cannot read its runtime spec: ${(err as Error).message}`}`);
  }
}

/** A running container's process, held by descriptors (see openContainer). */
interface Opened {
  join: number[];
  root: number;
}

/**
 * Descriptors of the namespaces (JOIN_ORDER, -1 for one the container shares with rl: --network host)
 * and of the root of the container's recorded process, checked to be that process's: opened first,
 * then its start time compared with the recorded one, so a pid reused meanwhile is never joined.
 */
function openContainer(c: ContainerRow, name: string): Opened {
  const pid = c.pid!;
  const opened: Opened = { join: [], root: -1 };
  const { join } = opened;
  const close = () => closeContainer(opened);
  const own = (file: string) => statSync(`/proc/self/ns/${file}`).ino;
  try {
    for (const type of JOIN_ORDER) {
      let fd = openSync(`/proc/${pid}/ns/${NS_FILES[type]}`, "r");
      if (fstatSync(fd).ino === own(NS_FILES[type])) {
        closeSync(fd);
        // --network container:X: the recorded process stays outside the pid namespace it made (see
        // join_namespaces in executor.c); its children are in it.
        fd = type === "pid" ? openSync(`/proc/${pid}/ns/pid_for_children`, "r") : -1;
        if (fd >= 0 && fstatSync(fd).ino === own("pid")) {
          closeSync(fd);
          fd = -1;
        }
        // No user, mount or pid namespace of its own: the recorded process is not the container's (its
        // rl, which records the exit of a workload that has just ended). Only the network may be rl's.
        if (fd < 0 && (type === "user" || type === "mount" || type === "pid")) throw Object.assign(new Error("not a container process"), { code: "ESRCH" });
      }
      join.push(fd);
    }
    opened.root = openat2(AT_FDCWD, `/proc/${pid}/root`, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0);
  } catch (err) {
    close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ESRCH") throw notRunning(name, "exited");
    throw new RlError(`cannot exec in container ${name}: ${(err as Error).message}`);
  }
  if (!processAlive(pid, c.pid_start!)) {
    close();
    throw notRunning(name, "exited");
  }
  return opened;
}

function closeContainer(o: Opened): void {
  closeJoinFds(o.join);
  if (o.root >= 0) closeSync(o.root);
}

/** Value of `key` in an environment list. */
const envValue = (env: string[], key: string) => env.find((e) => e.startsWith(`${key}=`))?.slice(key.length + 1);

/**
 * The exec'd process as podman makes it from the container's: its env with exec's -e and --env-file on
 * top, its user unless -u (resolved in the container's own /etc/passwd and /etc/group, read through
 * `root`), its working directory unless -w, its capabilities (every one with --privileged; a user
 * other than the container's, unless root, keeps none), limits, umask, no_new_privs.
 */
function execProcess(spec: Spec, o: ExecOptions, added: string[], root: number): Spec["process"] {
  const base = spec.process;
  let user = base.user;
  let env = base.env;
  if (o.user !== undefined) {
    const passwd = readConfinedFile(root, "etc/passwd"), group = readConfinedFile(root, "etc/group");
    const u = resolveUser(o.user, passwd, group, "the container's");
    checkUserInMaps(u, spec.linux.uidMappings, spec.linux.gidMappings);
    user = { ...base.user, uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
    // HOME is the exec user's, unless the container's was set on purpose (not its own user's home).
    const containerHome = resolveUser(String(base.user.uid), passwd, group).home || "/";
    if (envValue(env, "HOME") === containerHome) env = mergeEnv(env, [`HOME=${u.home || "/"}`]);
  }
  const sameUser = user.uid === base.user.uid && user.gid === base.user.gid;
  const bounding = o.privileged ? allCaps() : base.capabilities.bounding;
  const held = user.uid === 0 ? bounding : sameUser ? base.capabilities.effective : [];
  return {
    ...base,
    terminal: o.tty,
    user,
    args: o.command,
    env: mergeEnv(o.tty ? ["TERM=xterm"] : [], env, added),
    cwd: o.workdir ?? base.cwd,
    capabilities: { bounding, effective: held, permitted: held, inheritable: user.uid === 0 ? [] : held, ambient: user.uid === 0 ? [] : held },
  };
}
