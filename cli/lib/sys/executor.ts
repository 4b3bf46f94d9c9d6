import { ptr } from "bun:ffi";
import { debug } from "../log";
import { strerror } from "./errno";
import { lazyC, lazyProgram } from "./compile-c";
import { cstr } from "./libc";

/** The C executor (helpers/executor.c): see lazyC for how it is built and loaded. */
export const executor = lazyC("executor.c", {
  rl_spawn: { args: ["i32", "i32", "ptr", "ptr", "i32", "ptr"], returns: "i32" },
  rl_tap_result: { args: ["i32"], returns: "i32" },
  rl_mapped: { args: ["i32"], returns: "i32" },
  rl_release: { args: ["i32", "ptr", "i32"], returns: "i32" },
  rl_started: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  rl_abort: { args: ["i32", "i32", "i32"], returns: "i32" },
  rl_wait: { args: ["i32", "ptr", "i32"], returns: "i32" },
  rl_kill: { args: ["i32", "i32"], returns: "i32" },
  rl_set_winsize: { args: ["i32", "i32", "i32"], returns: "i32" },
  rl_close: { args: ["i32"], returns: "i32" },
  rl_spawn_helper: { args: ["ptr", "i32", "ptr"], returns: "ptr" },
  rl_stdio_pipes: { args: ["i32", "ptr"], returns: "i32" },
  rl_pass_fd: { args: ["i32"], returns: "i32" },
  rl_wait_helper: { args: ["ptr", "ptr", "i32"], returns: "i32" },
});

/**
 * The executor built as a program: the container's first process execs it (rl_spawn in executor.c), which
 * spares copying Bun's memory. RL_TEST_EXECUTOR_PROGRAM replaces its path (tests of the fallback).
 */
export const executorProgram = lazyProgram("executor.c", process.env.RL_TEST_EXECUTOR_PROGRAM);
let programFailed = false;

/** How containers start here (rl info). */
export function containerStart(): string {
  const program = executorProgram();
  if (program) return `executor program ${program}`;
  return `a copy of rl (${process.env.RL_TINYCC ? "RL_TINYCC is set" : "no executor program: bun install builds it when the host has a C compiler"})`;
}

export interface Spawned {
  pid: number;
  syncFd: number;
  errFd: number;
  consoleFd: number;
  /** It runs the executor program and waits to be told that its id maps are written (childMapped). */
  awaitsMapped: boolean;
  /** rl's ends of the pipes that are the child's fds 0-2 (see spawnChild's `pipes`), -1 where none. */
  pipes: [number, number, number];
}

/** The namespaces a child can join (JoinFds), in the executor's order (join_fds in executor.c). */
export const JOIN_ORDER = ["user", "mount", "pid", "uts", "ipc", "network", "cgroup"] as const;
/** One descriptor per JOIN_ORDER entry: the namespace to join, or -1. */
export type JoinFds = readonly number[];

/**
 * Clone a child that waits for `releaseChild` and its op list; returns its pid or throws an errno
 * number. With `join`, the child joins those namespaces (fds) instead of creating them.
 * With `makeTap`, it first creates a persistent tap0 for slirp4netns: read the result with tapResult.
 * `pipes`: bit i gives the child a pipe as fd i instead of rl's own (rl's end in Spawned.pipes).
 * `copy`: a copy of rl, never the program: a program exec'd before its id maps holds capabilities in
 * its namespace only when the user turns out to be its root, which --userns=keep-id and nomap are not.
 * `passFd`: a descriptor of rl's that the child keeps, at its number, through its exec (a copy of rl then).
 */
export function spawnChild(cloneFlags: number, wantConsole: boolean, join?: JoinFds, makeTap = false, pipes = 0, copy = false, passFd = -1): Spawned {
  const out = new Int32Array(3);
  const joinFds = join && Int32Array.from(join);
  const ends = new Int32Array(3).fill(-1);
  const spawn = (program: string | undefined) => {
    if (pipes) {
      const r = executor().rl_stdio_pipes(pipes, ptr(ends));
      if (r < 0) return r;
    }
    if (passFd >= 0) executor().rl_pass_fd(passFd);
    return executor().rl_spawn(cloneFlags, wantConsole ? 1 : 0, ptr(out), joinFds ? ptr(joinFds) : null, makeTap ? 1 : 0, program === undefined ? null : ptr(cstr(program)));
  };
  const closeEnds = () => ends.forEach((fd, i) => fd >= 0 && (executor().rl_close(fd), (ends[i] = -1)));
  const program = programFailed || copy || passFd >= 0 ? undefined : executorProgram();
  let pid = spawn(program);
  // A program that cannot be run (a noexec mount, a foreign architecture): the copy of rl does the same.
  if (pid < 0 && program !== undefined) {
    debug(`cannot run the executor program ${program}: ${strerror(-pid)}; cloning a copy of rl instead`);
    programFailed = true;
    closeEnds();
    pid = spawn(undefined);
  }
  if (pid < 0) {
    closeEnds();
    throw Object.assign(new Error(`clone failed: errno ${-pid}`), { errno: -pid });
  }
  // A child that joins a user namespace has every capability there at once: the program goes on alone.
  const joinsUser = joinFds !== undefined && joinFds[0]! >= 0;
  return { pid, syncFd: out[0]!, errFd: out[1]!, consoleFd: out[2]!, awaitsMapped: program !== undefined && !programFailed && !copy && !joinsUser, pipes: [ends[0]!, ends[1]!, ends[2]!] };
}

/** Once its id maps are written (or joined): a child running the executor program goes on (once). */
export function childMapped(s: Spawned): void {
  if (!s.awaitsMapped) return;
  s.awaitsMapped = false;
  // A child that is gone is reported by what comes next (its tap result, or the release).
  executor().rl_mapped(s.syncFd);
}

/** Wait for the tap0 report of a child spawned with makeTap: 0, an errno, or -1 when the child is gone. */
export function tapResult(s: Spawned): number {
  childMapped(s);
  return executor().rl_tap_result(s.errFd);
}

/**
 * What a released child reports in place of a failed op's index (helpers/executor.c's START_ defines;
 * test/unit/op-codes.test.ts checks that both say the same).
 */
export const START = {
  /** No failure: the workload was exec'd. */
  execed: -1,
  /** The child could not be set up or released, before its ops. */
  releaseFailed: -2,
  /** It could not join the namespaces it was given (another container's, or the one exec runs in). */
  joinFailed: -3,
  /** Not a failure: the report on tap0 of a child spawned with makeTap (see tapResult). */
  tapReport: -4,
  /** It could not join a session keyring of its own. */
  keyringFailed: -5,
} as const;

export interface Released {
  /** Index of the op that failed, or a START value (START.execed when the child exec'd). */
  failedOp: number;
  errno: number;
  ptyMaster: number;
}

/**
 * Send the child its op list (ops.ts) and wait until it has exec'd or failed. `meanwhile` (which must
 * not throw) runs while the child sets itself up.
 */
export function releaseChild(s: Spawned, ops: Uint8Array, meanwhile?: () => void): Released {
  childMapped(s);
  const sent = executor().rl_release(s.syncFd, ptr(ops), ops.length);
  meanwhile?.();
  const res = new Int32Array(3);
  executor().rl_started(s.errFd, s.consoleFd, sent, ptr(res));
  return { failedOp: res[0]!, errno: res[1]!, ptyMaster: res[2]! };
}

export function abortChild(s: Spawned): void {
  // Its descriptors close here: nothing may be written to their numbers afterwards.
  s.awaitsMapped = false;
  executor().rl_abort(s.syncFd, s.errFd, s.consoleFd);
  closePipes(s);
}

/** Close rl's ends of the child's stdio pipes (a child that never ran, or failed to start). */
export function closePipes(s: Spawned): void {
  s.pipes.forEach((fd, i) => {
    if (fd >= 0) executor().rl_close(fd);
    s.pipes[i] = -1;
  });
}

/** waitpid(pid) for this pid only. Returns the raw status, or undefined while it runs (nohang). */
export function waitChild(pid: number, nohang: boolean): number | undefined {
  const status = new Int32Array(1);
  const r = executor().rl_wait(pid, ptr(status), nohang ? 1 : 0);
  if (r === 0) return undefined;
  if (r < 0) throw Object.assign(new Error(`waitpid failed: errno ${-r}`), { errno: -r });
  return status[0]!;
}

/** Exit code as docker reports it: the code, or 128 + signal. */
export function exitCodeOf(status: number): number {
  const sig = status & 0x7f;
  return sig === 0 ? (status >> 8) & 0xff : 128 + sig;
}

export function killPid(pid: number, signal: number): number {
  return executor().rl_kill(pid, signal);
}

export function setWinsize(fd: number, rows: number, cols: number): void {
  executor().rl_set_winsize(fd, rows, cols);
}

export function closeFd(fd: number): void {
  executor().rl_close(fd);
}

/** A helper started by spawnHelper; `wait` blocks until it ends. */
export interface Helper {
  argv: string[];
  /** Its wait status (or -errno when it could not be started) and the end of what it wrote to stderr. */
  wait(): { status: number; stderr: string };
}

/**
 * Start a command (an absolute path) with stdin and stdout on /dev/null, without Bun's spawn machinery
 * and without waiting for its exec (a thread of the executor does both): for newuidmap and newgidmap,
 * which run between a container's clone and its release. Throws an errno number when no thread could
 * be started; a command that cannot be started shows as a negative status from `wait`.
 */
export function spawnHelper(argv: string[]): Helper {
  // Not Buffer: its first use in a process costs ~0.15 ms.
  const words = cstr(argv.join("\0"));
  const errno = new Int32Array(1);
  const handle = executor().rl_spawn_helper(ptr(words), argv.length, ptr(errno));
  if (!handle) throw Object.assign(new Error(`cannot run ${argv[0]}: errno ${errno[0]}`), { errno: errno[0] });
  let ended: ReturnType<Helper["wait"]> | undefined;
  return {
    argv,
    wait() {
      if (ended) return ended;
      const err = new Uint8Array(4096);
      const status = executor().rl_wait_helper(handle, ptr(err), err.length);
      return (ended = { status, stderr: new TextDecoder().decode(err.subarray(0, err.indexOf(0))) });
    },
  };
}
