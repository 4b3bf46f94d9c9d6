import { ptr } from "bun:ffi";
import { RlError } from "../errors";
import { strerror } from "./errno";
import { lazyC, lazyProgram } from "./compile-c";
import { cstr } from "./libc";
import { closeFd, executorProgram, type JoinFds, type Spawned } from "./executor";

/** rl's end of the monitor's control socket (helpers/monitor.c). */
const monitorLib = lazyC("monitor.c", {
  rl_monitor_socketpair: { args: ["ptr"], returns: "i32" },
  rl_monitor_spawn: { args: ["i32", "ptr", "i32", "ptr", "i32", "ptr"], returns: "i32" },
  rl_monitor_commit: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  rl_monitor_client_pair: { args: ["ptr"], returns: "i32" },
  rl_monitor_connect: { args: ["ptr"], returns: "i32" },
});

const monitorProgram = lazyProgram("monitor.c", process.env.RL_TEST_MONITOR_PROGRAM);

/** The request's words, in the order of helpers/monitor.c's MON_* numbers (a unit test compares them); CLEANUP is the rest. */
export const MONITOR_WORDS = ["FLAGS", "CONSOLE", "TAP", "STDIN", "PROGRAM", "LOG", "EXIT", "COPY", "LOG_MAX", "LOG_FILES", "HEALTH", "ATTACH", "CLEANUP"] as const;

/** What the monitor of a detached container is told (see the MON_* words in helpers/monitor.c). */
export interface MonitorRequest {
  cloneFlags: number;
  tty: boolean;
  makeTap: boolean;
  /** -i: a stdin pipe the monitor holds open (or, with -t, the pty): attached clients write to it. */
  keepStdin: boolean;
  /** The child is a copy of the monitor, not the executor program (see spawnChild's `copy`; as there, a
   * program child waits for its id maps unless it joins a user namespace, which has them). */
  copy: boolean;
  /** The log file, or "" for --log-driver none. */
  log: string;
  /** --log-opt max-size (bytes, 0: no limit) and max-file (the log and its rotated files kept). */
  logMaxSize: number;
  logMaxFiles: number;
  /** Run the healthcheck (the exit command with __health) this often; 0: never. */
  healthIntervalMs: number;
  /** Where it writes "CODE FINISHED_MS" when the container ends. */
  exitFile: string;
  /** The directory of its attach socket (rl attach), "" for none. */
  attachDir: string;
  /** The command it execs then (rl's __cleanup). */
  cleanup: string[];
}

/** A monitor that cloned a container's first process for rl and waits for the commit. */
export interface Monitor {
  pid: number;
  /** Resolves with the container's exit code when the monitor ends before the commit. */
  exited: Promise<number>;
  /**
   * The container runs and is recorded: hand over `fds` (kept while it runs) and let the monitor go.
   * `attach`: also connect rl to it as an attached client from the first byte the container writes;
   * the returned descriptor is rl's end of that connection (see attach-client.ts).
   */
  commit(fds: number[], o?: { attach?: boolean }): number;
  /** rl gives the container up (its start failed): the monitor ends it and exits (see `exited`). */
  abandon(): void;
  /** After the commit: resolves once the monitor, and the exit command it became, have ended. */
  gone(): Promise<void>;
}

/** Connect to the attach socket a container's monitor listens on in `dir`: the descriptor, or -errno. */
export function connectMonitor(dir: string): number {
  return monitorLib().rl_monitor_connect(ptr(cstr(dir)));
}

/**
 * Hold a detached exec's pty master (`monitor drain`, in a session of its own) until its command lets go
 * of the terminal; rl's copy is closed. Without a holder the terminal would hang up as rl exits.
 */
export function holdTerminal(master: number): void {
  const program = monitorProgram();
  if (!program) throw new RlError(monitorMissing()!);
  try {
    Bun.spawn([program, "drain"], { stdio: ["ignore", "ignore", "ignore", master] }).unref();
  } catch (err) {
    throw new RlError(`cannot start the holder of the command's terminal ${program}: ${(err as Error).message}`);
  } finally {
    closeFd(master);
  }
}

/** Why detached containers cannot run here, or undefined when they can. */
export function monitorMissing(): string | undefined {
  if (!monitorProgram() || !executorProgram()) return "containers under a monitor (run -d, start, attach) and exec -dt need the monitor and executor programs, which bun install builds when the host has a C compiler (cc)";
  return undefined;
}

/**
 * Start a monitor and have it clone the container's first process (its child, so it outlives rl): the
 * returned Spawned is driven as a child of rl's own (id maps, release), but for its exit, which only
 * `Monitor.exited` reports before the commit.
 */
export function spawnMonitored(r: MonitorRequest, join?: JoinFds): { spawned: Spawned; monitor: Monitor } {
  const program = monitorProgram();
  const executor = executorProgram();
  if (!program || !executor) throw new RlError(monitorMissing()!);
  const pair = new Int32Array(2);
  const e = monitorLib().rl_monitor_socketpair(ptr(pair));
  if (e < 0) throw new RlError(`cannot start the container's monitor: ${strerror(-e)}`);
  const [ctl, theirs] = [pair[0]!, pair[1]!];
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([program, "monitor", "3"], { stdio: ["ignore", "ignore", "ignore", theirs], env: process.env });
  } catch (err) {
    closeFd(ctl);
    throw new RlError(`cannot start the container's monitor ${program}: ${(err as Error).message}`);
  } finally {
    closeFd(theirs);
  }
  const values: Record<(typeof MONITOR_WORDS)[number], string | number> = {
    FLAGS: r.cloneFlags, CONSOLE: r.tty ? 1 : 0, TAP: r.makeTap ? 1 : 0, STDIN: r.keepStdin ? 1 : 0, PROGRAM: executor, LOG: r.log, EXIT: r.exitFile,
    COPY: r.copy ? 1 : 0, LOG_MAX: r.logMaxSize, LOG_FILES: r.logMaxFiles, HEALTH: r.healthIntervalMs, ATTACH: r.attachDir, CLEANUP: r.cleanup.join("\0"),
  };
  const words = MONITOR_WORDS.map((w) => values[w]).join("\0");
  const request = cstr(words);
  const out = new Int32Array(3);
  const joinFds = join && Int32Array.from(join);
  monitorLib().rl_monitor_spawn(ctl, ptr(request), request.length - 1, joinFds ? ptr(joinFds) : null, joinFds?.length ?? 0, ptr(out));
  let committed = false;
  // Before the commit it ends with the container: its control socket goes with it.
  const exited = proc.exited.then((code) => {
    if (!committed) closeFd(ctl);
    committed = true;
    return code;
  });
  if (out[0]! < 0) {
    const errno = -out[0]!;
    throw Object.assign(new Error(`the monitor could not clone the container: ${strerror(errno)}`), { errno });
  }
  const monitor: Monitor = {
    pid: proc.pid,
    exited,
    async gone() {
      proc.ref();
      await proc.exited;
    },
    abandon() {
      if (committed) return;
      committed = true;
      closeFd(ctl);
    },
    commit(fds, o = {}) {
      if (committed) return -1;
      const client = new Int32Array([-1, -1]);
      if (o.attach) {
        const e = monitorLib().rl_monitor_client_pair(ptr(client));
        if (e < 0) throw new RlError(`cannot attach to the container: ${strerror(-e)}`);
      }
      committed = true;
      const list = new Int32Array(Math.max(fds.length, 1));
      list.set(fds);
      const r = monitorLib().rl_monitor_commit(ctl, ptr(list), fds.length, client[1]!);
      if (client[1]! >= 0) closeFd(client[1]!);
      if (r < 0) {
        if (client[0]! >= 0) closeFd(client[0]!);
        throw new RlError(`cannot hand the container to its monitor: ${strerror(-r)}`);
      }
      proc.unref();
      return client[0]!;
    },
  };
  return { spawned: { pid: out[0]!, syncFd: out[1]!, errFd: out[2]!, consoleFd: -1, awaitsMapped: !r.copy && !(join && join[0]! >= 0), pipes: [-1, -1, -1] }, monitor };
}
