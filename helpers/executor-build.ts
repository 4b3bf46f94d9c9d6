/**
 * The executor (helpers/executor.c) is C that bun:ffi's TinyCC compiles at every start (~8-10 ms of
 * `rl run`). When the host has a C compiler, `bun install` builds it once into a shared object keyed by
 * the source's hash; rl loads that and falls back to TinyCC when it is missing or stale.
 * Run as a script: builds the shared object (never fails the install).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export const EXECUTOR_SOURCE = join(import.meta.dir, "executor.c");

// -z now: every libc symbol is bound at load time. With lazy binding the cloned child's first call of
// a function goes through the dynamic linker, whose lock another Bun thread may hold at the moment of
// clone: the child then waits on that lock for ever (seen as rare hangs of `rl run`).
const FLAGS = ["-O2", "-shared", "-fPIC", "-Wl,-z,now"];

/** Where the shared object for the current source lives (whether or not it was built). */
export function prebuiltExecutorPath(): string {
  const key = Bun.hash(`${FLAGS.join(" ")}\n${readFileSync(EXECUTOR_SOURCE, "utf8")}`).toString(16);
  return join(import.meta.dir, "build", `executor-${key}.so`);
}

function build(): void {
  const out = prebuiltExecutorPath();
  if (existsSync(out)) return;
  const compiler = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (!compiler) {
    console.log("rl: no C compiler found: the executor will be compiled by Bun's TinyCC at each start (about 10 ms slower)");
    return;
  }
  mkdirSync(join(import.meta.dir, "build"), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = Bun.spawnSync([compiler, ...FLAGS, "-o", tmp, EXECUTOR_SOURCE], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    rmSync(tmp, { force: true });
    console.log(`rl: ${compiler} could not build the executor: TinyCC will be used at run time`);
    return;
  }
  renameSync(tmp, out);
}

if (import.meta.main) build();
