import { closeSync, openSync } from "node:fs";
import { debug } from "../log";
import { RlError } from "../errors";
import type { ContainerNetwork } from "../network/attach";
import { startIdMaps, type IdMapping } from "../security/idmap";
import { strerror } from "../sys/errno";
import { abortChild, childMapped, closeFd, closePipes, JOIN_ORDER, killPid, releaseChild, spawnChild, START, tapResult, type JoinFds, type Spawned } from "../sys/executor";
import { CLONE } from "../sys/clone-flags";
import { describeOp, encodeOps, type Op } from "../sys/ops";
import { StartError } from "../sys/start-error";
import { outerRefusal } from "./outer-container";
import type { Spec } from "./spec";
import { stdioPipes } from "./stdio-relay";
import type { AttachStreams } from "./attach-streams";
import { waitForExit } from "../sys/wait";
import { spawnMonitored, type Monitor, type MonitorRequest } from "../sys/monitor";

// The container's first process: cloned as soon as its namespaces are known, mapped (newuidmap and
// newgidmap run while rl plans the container), connected, then released with its op list.

export type Namespaces = Spec["linux"]["namespaces"];

function cloneFlags(namespaces: Namespaces): number {
  const map = { user: CLONE.NEWUSER, mount: CLONE.NEWNS, pid: CLONE.NEWPID, uts: CLONE.NEWUTS, ipc: CLONE.NEWIPC, network: CLONE.NEWNET, cgroup: CLONE.NEWCGROUP };
  return namespaces.reduce((f, n) => f | map[n.type], 0);
}

/** The message and exit code of a failed op; exec failures as docker reports them: 127 not found, 126 not executable. */
function opFailure(op: Op, errno: number): [string, number?] {
  if (op.op === "exec") {
    const cmd = op.argv[0]!;
    if (errno === 2) return [`${cmd}: executable file not found in $PATH: No such file or directory`, 127];
    // EPERM: a file capability beyond the bounding set (the kernel refuses such an exec).
    if (errno === 13 || errno === 8 || errno === 21 || errno === 1) return [`${cmd}: ${strerror(errno)}`, 126];
  }
  // A working directory that is not there (exec -w, or a read-only root): podman's "not found" too.
  if (op.op === "chdir" && errno === 2) return [`cannot ${describeOp(op)}: ${strerror(errno)}`, 127];
  // ELOOP from the executor's check that proc, sysfs and /dev go on a directory, not through a symlink.
  if (errno === 40 && (op.op === "mountIn" || op.op === "sysfsIn")) {
    const target = op.op === "mountIn" ? op.target : op.path;
    return [`cannot ${describeOp(op)}: ${target} is a symlink in the image; it must be a directory`];
  }
  // EXDEV: the executor found the target on proc (an image's symlink into /proc): refused as -v onto /proc is.
  if (errno === 18 && (op.op === "mountIn" || op.op === "bindIn")) {
    return [`cannot ${describeOp(op)}: ${op.target} leads into /proc through a symlink of the image's, which the container's own proc filesystem covers`];
  }
  return [`cannot ${describeOp(op)}: ${strerror(errno)}${outerRefusal(op, errno)}`];
}

/** Why a released child did not exec (`failedOp`: an op's index or a START status), as a StartError. */
function startError(ops: Op[], failedOp: number, errno: number, joined: string | undefined): StartError {
  const failed = ops[failedOp];
  if (failed) {
    const [message, exitCode] = opFailure(failed, errno);
    return new StartError(message, failed, errno, exitCode);
  }
  if (failedOp === START.joinFailed) return new StartError(`cannot join ${joined ?? "the network of the other container"}: ${strerror(errno)}`, "join", errno);
  if (failedOp === START.keyringFailed) return new StartError(`cannot give the container a session keyring of its own: ${strerror(errno)}`, "keyring", errno);
  return new StartError(`cannot start the container: ${strerror(errno)}`, "release", errno);
}

/** Open the namespaces to join: those with a path (another container's user and network namespaces). */
function joinFds(namespaces: Namespaces): JoinFds | undefined {
  if (!namespaces.some((n) => n.path)) return undefined;
  const fds: number[] = [];
  try {
    for (const type of JOIN_ORDER) {
      const path = namespaces.find((n) => n.type === type)?.path;
      fds.push(path ? openSync(path, "r") : -1);
    }
    return fds;
  } catch (err) {
    closeJoinFds(fds);
    throw new RlError(`cannot join the network of the other container: ${(err as Error).message}`);
  }
}

/** rl's copies of namespace descriptors, once the child has its own (or never will). */
export function closeJoinFds(fds: JoinFds): void {
  for (const fd of fds) if (fd >= 0) closeSync(fd);
}

/** A container's first process, cloned before its op list is ready: its id maps are written meanwhile. */
export interface Child {
  spawned: Spawned;
  exited: Promise<number>;
  /**
   * Waits until the id maps are written, then lets the child go on to what needs them (the executor
   * program execs itself again as root); throws when they could not be written. Call it as early as
   * the rest allows: it costs nothing more the second time.
   */
  idMaps: () => void;
  /** It creates a persistent tap0 for slirp4netns (its report must be read before the release). */
  tap: boolean;
  /** A detached container's monitor, its parent. */
  monitor?: Monitor;
}

/** A detached container's child is its monitor's: how the monitor keeps its output and its end. */
export type DetachedOutput = Pick<MonitorRequest, "log" | "logMaxSize" | "logMaxFiles" | "healthIntervalMs" | "exitFile" | "attachDir" | "cleanup">;

/**
 * `terminal`: -t and -i, which decide its stdio (a pty, rl's fds, or pipes: see stdioPipes). `detached`:
 * the child is cloned by a monitor (sys/monitor.ts), which outlives rl and owns its stdio.
 */
export async function cloneChild(namespaces: Namespaces, terminal: { tty: boolean; interactive: boolean; streams?: AttachStreams }, mapping: IdMapping, slirp: boolean, detached?: DetachedOutput): Promise<Child> {
  const join = joinFds(namespaces);
  const tap = slirp && !join;
  let spawned: Spawned;
  let monitor: Monitor | undefined;
  try {
    if (detached) {
      ({ spawned, monitor } = spawnMonitored({ cloneFlags: cloneFlags(namespaces), tty: terminal.tty, makeTap: tap, keepStdin: terminal.interactive, copy: mapping.lines !== undefined, ...detached }, join));
    } else spawned = spawnChild(cloneFlags(namespaces), terminal.tty, join, tap, stdioPipes(terminal), mapping.lines !== undefined);
  } finally {
    if (join) closeJoinFds(join);
  }
  const exited = monitor ? monitor.exited : waitForExit(spawned.pid);
  try {
    // A joined user namespace has its id maps already.
    const written = join ? () => {} : startIdMaps(spawned.pid, mapping);
    let outcome: { error?: unknown } | undefined;
    const idMaps = () => {
      if (!outcome) {
        try {
          written();
          outcome = {};
          childMapped(spawned);
        } catch (error) {
          outcome = { error };
        }
      }
      if (outcome.error) throw outcome.error;
    };
    return { spawned, exited, idMaps, tap, monitor };
  } catch (err) {
    abortChild(spawned);
    monitor?.abandon();
    await exited;
    throw err;
  }
}

/** A released child that has exec'd: its pty master (-t) or rl's ends of its stdio pipes, and its end. */
export interface Started {
  pid: number;
  ptyMaster: number;
  pipes: readonly number[];
  exited: Promise<number>;
}

/** End a child that was never released. */
export async function discardChild(c: Child): Promise<void> {
  abortChild(c.spawned);
  try {
    c.idMaps();
  } catch {}
  await ended(c);
}

/** Wait for a child given up on: a detached one's monitor is told first (it waits for rl's word). */
export function ended(c: Child): Promise<number> {
  c.monitor?.abandon();
  return c.exited;
}

/**
 * Finish the id maps, attach the network, release the child with its op list and wait for the exec;
 * on failure the child is gone when this throws (the caller detaches the network). `whileStarting`
 * runs while the child sets itself up (recording it, say); when it throws, the child is ended.
 */
export async function startChild(c: Child, ops: Op[], network: ContainerNetwork, whileStarting?: () => void): Promise<Started> {
  try {
    c.idMaps();
    // A tap0 the child could not make (no /dev/net/tun here?) is made by slirp4netns as usual.
    if (c.tap) {
      const e = tapResult(c.spawned);
      if (e !== 0) debug(`no persistent tap0 (${e < 0 ? "the container process is gone" : strerror(e)}): slirp4netns creates its own`);
    }
    await network.attach(c.spawned.pid, c.monitor !== undefined);
  } catch (err) {
    await discardChild(c);
    throw err;
  }
  return releaseWithOps(c.spawned, c.exited, ops, { whileStarting, giveUp: () => c.monitor?.abandon() });
}

/**
 * Release a cloned child with its op list and wait for its exec; on failure the child is gone when this
 * throws. `whileStarting` runs while the child sets itself up; when it throws, the child is ended.
 * `joined`: the namespaces it joins, for the error when it cannot (run's: another container's network).
 * `giveUp`: called before waiting for a child that failed (a detached one's monitor waits for rl's word).
 */
export async function releaseWithOps(spawned: Spawned, exited: Promise<number>, ops: Op[], o: { whileStarting?: () => void; joined?: string; giveUp?: () => void } = {}): Promise<Started> {
  let meanwhile: { error: unknown } | undefined;
  const r = releaseChild(spawned, encodeOps(ops), () => {
    try {
      o.whileStarting?.();
    } catch (error) {
      meanwhile = { error };
    }
  });
  if (meanwhile && r.failedOp === START.execed) {
    killPid(spawned.pid, 9);
    if (r.ptyMaster >= 0) closeFd(r.ptyMaster);
    closePipes(spawned);
    o.giveUp?.();
    await exited;
    throw meanwhile.error;
  }
  if (r.failedOp !== START.execed) {
    closePipes(spawned);
    o.giveUp?.();
    await exited;
    throw startError(ops, r.failedOp, r.errno, o.joined);
  }
  return { pid: spawned.pid, ptyMaster: r.ptyMaster, pipes: spawned.pipes, exited };
}
