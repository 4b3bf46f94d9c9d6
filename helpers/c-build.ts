/**
 * rl's C helpers (helpers/*.c) are compiled by bun:ffi's TinyCC on first use (~5-10 ms each, at every
 * start). When the host has a C compiler, `bun install` builds each once into a shared object keyed by
 * its source and flags; rl loads that, and falls back to TinyCC when it is missing or stale.
 * Run as a script: builds the shared objects (never fails the install).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { PACKAGE_ROOT } from "../cli/lib/package-root";

export const C_SOURCES = ["executor.c", "net.c"];

// -z now: every libc symbol is bound at load time. With lazy binding a cloned or forked child's first
// call of a function goes through the dynamic linker, whose lock another Bun thread may hold at that
// moment: the child then waits on it for ever (seen as rare hangs of `rl run`).
const FLAGS = ["-O2", "-shared", "-fPIC", "-Wl,-z,now"];

const BUILD_DIR = join(PACKAGE_ROOT, "helpers", "build");

export const sourcePath = (file: string) => join(PACKAGE_ROOT, "helpers", file);

/** Where the shared object for the current source of `file` lives (whether or not it was built). */
export function prebuiltPath(file: string): string {
  const key = Bun.hash(`${FLAGS.join(" ")}\n${readFileSync(sourcePath(file), "utf8")}`).toString(16);
  return join(BUILD_DIR, `${basename(file, ".c")}-${key}.so`);
}

function build(file: string, compiler: string): void {
  const out = prebuiltPath(file);
  // Objects built from earlier sources are never loaded again.
  const prefix = `${basename(file, ".c")}-`;
  if (existsSync(BUILD_DIR)) for (const f of readdirSync(BUILD_DIR)) if (f.startsWith(prefix) && f.endsWith(".so") && join(BUILD_DIR, f) !== out) rmSync(join(BUILD_DIR, f), { force: true });
  if (existsSync(out)) return;
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = Bun.spawnSync([compiler, ...FLAGS, "-o", tmp, sourcePath(file)], { stdout: "inherit", stderr: "inherit" });
  if (r.exitCode !== 0) {
    rmSync(tmp, { force: true });
    console.log(`rl: ${compiler} could not build helpers/${file}: TinyCC will be used at run time`);
    return;
  }
  renameSync(tmp, out);
}

if (import.meta.main) {
  const compiler = Bun.which("cc") ?? Bun.which("gcc") ?? Bun.which("clang");
  if (!compiler) console.log("rl: no C compiler found: rl's C helpers will be compiled by Bun's TinyCC at each start (about 10 ms slower)");
  else for (const f of C_SOURCES) build(f, compiler);
}
