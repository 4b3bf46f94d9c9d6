/**
 * The rl executable, helpers/build/rl (package.json "bin"): `bun install` compiles cli/ and everything it
 * imports into one standalone program, Bun's runtime with rl's modules as bytecode. It starts in a
 * fraction of the time Bun takes to load them from files (see bench/README.md). It runs its own code only
 * while it is fresh: every source it was made from is as the build found it (see unchanged), as recorded
 * in helpers/build/rl.inputs.json with the build's id. Otherwise it hands over to the sources (cli/main.ts),
 * so an edit is never shadowed by an old build. Run this file as a script to build (it never fails the
 * install: without an executable, helpers/build/rl runs the sources).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { PACKAGE_ROOT } from "../cli/lib/package-root";

const BUILD_DIR = join(PACKAGE_ROOT, "helpers/build");
export const EXECUTABLE = join(BUILD_DIR, "rl");
const INPUTS = "helpers/build/rl.inputs.json";
const ENTRY = join(PACKAGE_ROOT, "cli/executable.ts");

/** A source as the build found it: its path in the package, size, mtimeMs and a hash of its content. */
export type Source = [path: string, size: number, mtimeMs: number, hash: string];

/** What the executable was built from: its id, the package directory, when the build began (ms), each source. */
export interface Inputs {
  build: string;
  root: string;
  started: number;
  files: Source[];
}

const contentHash = (path: string) => Bun.hash(readFileSync(path)).toString(16);

export function sourceOf(root: string, path: string): Source {
  const st = statSync(join(root, path));
  return [path, st.size, st.mtimeMs, contentHash(join(root, path))];
}

/**
 * Whether a source is as the build found it. Where the filesystem keeps times as they were written, the
 * same size and mtime say so without reading anything: that is every start on a normal host. Some
 * filesystems show whole seconds only (hostfs in a user-mode-linux guest drops the nanoseconds): there
 * the same second is enough when it is before the second the build began, since any later write carries
 * a later second (git's rule for "racy" index entries). Otherwise the content decides: a file touched but
 * not changed, or one written in the very second the build began.
 */
function unchanged(root: string, [path, size, mtimeMs, hash]: Source, started: number): boolean {
  try {
    const st = statSync(join(root, path));
    if (st.size !== size) return false;
    if (st.mtimeMs === mtimeMs) return true;
    const second = Math.floor(mtimeMs / 1000) * 1000;
    if (st.mtimeMs === second && second < Math.floor(started / 1000) * 1000) return true;
    return contentHash(join(root, path)) === hash;
  } catch {
    return false;
  }
}

/**
 * Why the executable must not run its own code now, or undefined when it is fresh. `build`: the id of
 * the executable asking (it must be the one the inputs describe).
 */
export function staleReason(root = PACKAGE_ROOT, build?: string): string | undefined {
  if (process.env.RL_FROM_SOURCES) return "RL_FROM_SOURCES is set";
  let inputs: Inputs;
  try {
    inputs = JSON.parse(readFileSync(join(root, INPUTS), "utf8")) as Inputs;
  } catch {
    return "it is not built (bun install builds it)";
  }
  if (build !== undefined && inputs.build !== build) return "it was replaced by another build";
  if (inputs.root !== root) return `it was built in ${inputs.root}`;
  for (const source of inputs.files) {
    if (!unchanged(root, source, inputs.started)) return `${source[0]} changed since it was built`;
  }
  return undefined;
}

/** Without a compiled executable, helpers/build/rl is a script that runs the sources. */
function writeSourcesScript(): void {
  const tmp = `${EXECUTABLE}.${process.pid}.tmp`;
  writeFileSync(tmp, `#!/bin/sh\nexec bun ${JSON.stringify(join(PACKAGE_ROOT, "cli/main.ts"))} "$@"\n`, { mode: 0o755 });
  renameSync(tmp, EXECUTABLE);
}

/** Build the executable; the old one is unusable from the start (its inputs go first). */
async function build(): Promise<boolean> {
  rmSync(join(PACKAGE_ROOT, INPUTS), { force: true });
  // Left by the bytecode bundle that came before the executable.
  for (const f of ["rl.cjs", "rl.cjs.jsc", "rl.cjs.inputs.json"]) rmSync(join(BUILD_DIR, f), { force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  const tmp = `${EXECUTABLE}.${process.pid}.tmp`;
  const started = Date.now();
  const id = `${started.toString(36)}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  try {
    const r = await Bun.build({
      entrypoints: [ENTRY],
      compile: { outfile: tmp },
      bytecode: true,
      format: "esm",
      // Chunks, loaded as a command imports them: one file holding every module costs ~5 ms at each start
      // (Bun reads all of an executable's entry file before running its first line).
      splitting: true,
      metafile: true,
      define: { RL_PACKAGE_ROOT: JSON.stringify(PACKAGE_ROOT), RL_BUILD_ID: JSON.stringify(id) },
    } as Parameters<typeof Bun.build>[0]);
    if (!r.success || !r.metafile || !existsSync(tmp)) {
      console.log(`rl: could not compile the rl executable (helpers/build/rl runs the sources): ${r.logs.join("; ")}`);
      rmSync(tmp, { force: true });
      writeSourcesScript();
      return false;
    }
    const files = Object.keys(r.metafile.inputs)
      .map((p) => resolve(process.cwd(), p))
      .filter((abs) => !abs.includes("/node_modules/") && existsSync(abs))
      .map((abs) => sourceOf(PACKAGE_ROOT, relative(PACKAGE_ROOT, abs)));
    chmodSync(tmp, 0o755);
    renameSync(tmp, EXECUTABLE);
    // Written last: until it exists the executable hands over to the sources.
    writeFileSync(`${join(PACKAGE_ROOT, INPUTS)}.tmp`, JSON.stringify({ build: id, root: PACKAGE_ROOT, started, files } satisfies Inputs));
    renameSync(`${join(PACKAGE_ROOT, INPUTS)}.tmp`, join(PACKAGE_ROOT, INPUTS));
    return true;
  } finally {
    rmSync(tmp, { force: true });
  }
}

if (import.meta.main) {
  if (!existsSync(ENTRY)) throw new Error(`Cannot build the rl executable: ${ENTRY} is missing`);
  await build();
}
