/**
 * rl's C helpers (helpers/*.c) are compiled by bun:ffi's TinyCC on first use (~5-10 ms each, at every
 * start). When the host has a C compiler, `bun install` builds each once into a shared object keyed by
 * its source and flags; rl loads that, and falls back to TinyCC when it is missing or stale. The executor
 * is also built as a program, which a container's first process execs (see rl_spawn in executor.c).
 * SQLite extensions are built the same way, but only by the host's compiler: rl goes without them.
 * Run as a script: builds the shared objects and programs (never fails the install).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { PACKAGE_ROOT } from "../cli/lib/package-root";

export const C_SOURCES = ["executor.c", "net.c", "layer-files.c", "monitor.c"];
/** Sources also built as a program of their own (with -DRL_EXECUTOR_MAIN): see rl_spawn in executor.c. */
export const C_PROGRAMS = ["executor.c", "monitor.c"];
/** SQLite extensions (db.loadExtension): TinyCC cannot make one, so there is no fallback. */
export const C_EXTENSIONS = ["sqlite-no-checkpoint.c"];

// -z now: every libc symbol is bound at load time. With lazy binding a cloned or forked child's first
// call of a function goes through the dynamic linker, whose lock another Bun thread may hold at that
// moment: the child then waits on it for ever (seen as rare hangs of `rl run`).
const FLAGS = ["-O2", "-shared", "-fPIC", "-Wl,-z,now"];

// Static when the host has libc.a: nothing to load or relocate at each start of a container.
const PROGRAM_FLAGS = [["-O2", "-static", "-DRL_EXECUTOR_MAIN"], ["-O2", "-DRL_EXECUTOR_MAIN"]];

const BUILD_DIR = join(PACKAGE_ROOT, "helpers", "build");

export const sourcePath = (file: string) => join(PACKAGE_ROOT, "helpers", file);

/** Each source read once per process: `rl run` asks for both the executor's shared object and its program. */
const sources = new Map<string, string>();

/** Where what `flags` build from the current source of `file` lives (whether or not it was built). */
function builtPath(file: string, flags: string, suffix: string): string {
  let source = sources.get(file);
  // A source that includes another (monitor.c the executor's code) changes with it.
  if (source === undefined) {
    source = readFileSync(sourcePath(file), "utf8");
    for (const [, included] of source.matchAll(/^#include "([\w-]+\.c)"$/gm)) source += readFileSync(sourcePath(included!), "utf8");
    sources.set(file, source);
  }
  return join(BUILD_DIR, `${basename(file, ".c")}-${Bun.hash(`${flags}\n${source}`).toString(16)}${suffix}`);
}

/** Where the shared object for the current source of `file` lives (whether or not it was built). */
export const prebuiltPath = (file: string): string => builtPath(file, FLAGS.join(" "), ".so");

/** Where the program built from the current source of `file` lives (whether or not it was built). */
export const programPath = (file: string): string => builtPath(file, `program ${PROGRAM_FLAGS.map((f) => f.join(" ")).join(" | ")}`, "");

/** Compile to `out` (atomically) with the first flag set that works; false when none does. */
function compile(compiler: string, file: string, out: string, flagSets: string[][]): boolean {
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  for (const flags of flagSets) {
    const last = flags === flagSets[flagSets.length - 1];
    const r = Bun.spawnSync([compiler, ...flags, "-o", tmp, sourcePath(file)], { stdout: "inherit", stderr: last ? "inherit" : "ignore" });
    if (r.exitCode === 0) {
      renameSync(tmp, out);
      return true;
    }
  }
  rmSync(tmp, { force: true });
  return false;
}

function build(file: string, compiler: string): void {
  const outs = [prebuiltPath(file), ...(C_PROGRAMS.includes(file) ? [programPath(file)] : [])];
  // What was built from earlier sources is never used again.
  const prefix = `${basename(file, ".c")}-`;
  if (existsSync(BUILD_DIR)) for (const f of readdirSync(BUILD_DIR)) if (f.startsWith(prefix) && !f.endsWith(".tmp") && !outs.includes(join(BUILD_DIR, f))) rmSync(join(BUILD_DIR, f), { force: true });
  if (!existsSync(outs[0]!) && !compile(compiler, file, outs[0]!, [FLAGS])) {
    console.log(`rl: ${compiler} could not build helpers/${file}: ${C_EXTENSIONS.includes(file) ? "rl goes without it" : "TinyCC will be used at run time"}`);
    return;
  }
  if (outs[1] && !existsSync(outs[1]) && !compile(compiler, file, outs[1], PROGRAM_FLAGS)) {
    console.log(`rl: ${compiler} could not build the program helpers/${file}: containers start from a copy of rl instead`);
  }
}

if (import.meta.main) {
  const compiler = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (!compiler) console.log("rl: no C compiler found: rl's C helpers will be compiled by Bun's TinyCC at each start (about 10 ms slower)");
  else for (const f of [...C_SOURCES, ...C_EXTENSIONS]) build(f, compiler);
}
