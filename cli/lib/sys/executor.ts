import { ptr } from "bun:ffi";
import { lazyC } from "./compile-c";

/** The C executor (helpers/executor.c): see lazyC for how it is built and loaded. */
export const executor = lazyC("executor.c", {
  rl_spawn: { args: ["ptr", "i32", "i32", "i32", "ptr", "i32", "i32"], returns: "i32" },
  rl_release: { args: ["i32", "i32", "i32", "ptr"], returns: "i32" },
  rl_abort: { args: ["i32", "i32", "i32"], returns: "i32" },
  rl_wait: { args: ["i32", "ptr", "i32"], returns: "i32" },
  rl_kill: { args: ["i32", "i32"], returns: "i32" },
  rl_set_winsize: { args: ["i32", "i32", "i32"], returns: "i32" },
  rl_close: { args: ["i32"], returns: "i32" },
});

export interface Spawned {
  pid: number;
  syncFd: number;
  errFd: number;
  consoleFd: number;
}

/**
 * Clone a child that waits for `release`; returns its pid or throws an errno number. With `join`, the
 * child joins those user and network namespaces (fds) instead of creating them.
 */
export function spawnChild(ops: Uint8Array, cloneFlags: number, wantConsole: boolean, join?: { userns: number; netns: number }): Spawned {
  const out = new Int32Array(3);
  const pid = executor().rl_spawn(ptr(ops), ops.length, cloneFlags, wantConsole ? 1 : 0, ptr(out), join?.userns ?? -1, join?.netns ?? -1);
  if (pid < 0) throw Object.assign(new Error(`clone failed: errno ${-pid}`), { errno: -pid });
  return { pid, syncFd: out[0]!, errFd: out[1]!, consoleFd: out[2]! };
}

export interface Released {
  /**
   * Index of the op that failed, or -1 when the child exec'd. -2: the child could not be released;
   * -3: it could not join the namespaces of another container.
   */
  failedOp: number;
  errno: number;
  ptyMaster: number;
}

export function releaseChild(s: Spawned): Released {
  const res = new Int32Array(3);
  executor().rl_release(s.syncFd, s.errFd, s.consoleFd, ptr(res));
  return { failedOp: res[0]!, errno: res[1]!, ptyMaster: res[2]! };
}

export function abortChild(s: Spawned): void {
  executor().rl_abort(s.syncFd, s.errFd, s.consoleFd);
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
