/**
 * The CLI (cli/rl.ts and everything it imports) as one CommonJS bundle with JavaScriptCore bytecode,
 * helpers/build/rl.cjs and rl.cjs.jsc: Bun starts it in a fraction of the time it takes to transpile
 * and link the ~125 TypeScript modules (see bench/README.md). `bun install` builds it (run this file as
 * a script; it never fails the install). cli/main.ts runs the bundle only while it is fresh: built by
 * this Bun, and every source it was made from has the size and mtime recorded at build time. Otherwise
 * the sources run, so an edit is never shadowed by an old bundle.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");
const BUILD_DIR = join(ROOT, "helpers/build");
export const BUNDLE = join(BUILD_DIR, "rl.cjs");
const INPUTS = join(BUILD_DIR, "rl.cjs.inputs.json");
const ENTRY = join(ROOT, "cli/rl.ts");

/**
 * What the bundle was built from: Bun's revision, the package directory (Bun writes each module's
 * import.meta.dir into the bundle as a string), and [path from there, size, mtimeMs] of each source.
 */
interface Inputs {
  bun: string;
  root: string;
  files: [string, number, number][];
}

/** Why the bundle cannot run now, or undefined when it is fresh. */
export function bundleStaleReason(root = ROOT): string | undefined {
  if (process.env.RL_NO_BUNDLE) return "RL_NO_BUNDLE is set";
  let inputs: Inputs;
  try {
    inputs = JSON.parse(readFileSync(join(root, "helpers/build/rl.cjs.inputs.json"), "utf8")) as Inputs;
  } catch {
    return "it is not built (bun install builds it)";
  }
  if (inputs.bun !== Bun.revision) return `it was built by another Bun (${inputs.bun})`;
  if (inputs.root !== root) return `it was built in ${inputs.root}`;
  for (const [path, size, mtimeMs] of inputs.files) {
    try {
      const st = statSync(join(root, path));
      if (st.size === size && st.mtimeMs === mtimeMs) continue;
    } catch {}
    return `${path} changed since it was built`;
  }
  return undefined;
}

/** Build the bundle; the old one is removed first, so a failed build leaves the sources to run. */
async function build(): Promise<boolean> {
  for (const f of [INPUTS, BUNDLE, `${BUNDLE}.jsc`]) rmSync(f, { force: true });
  const tmp = join(BUILD_DIR, `bundle-${process.pid}.tmp`);
  mkdirSync(tmp, { recursive: true });
  try {
    // yargs (loaded only to print help) stays in node_modules: its ES module build uses
    // import.meta, which a CommonJS bundle cannot hold.
    const r = await Bun.build({ entrypoints: [ENTRY], target: "bun", format: "cjs", bytecode: true, external: ["yargs"], outdir: tmp, naming: "rl.cjs", metafile: true });
    if (!r.success || !r.metafile) {
      console.log(`rl: could not build the start-up bundle (the sources will run): ${r.logs.join("; ")}`);
      return false;
    }
    const files = Object.keys(r.metafile.inputs).map((p): [string, number, number] => {
      const abs = resolve(process.cwd(), p);
      const st = statSync(abs);
      return [relative(ROOT, abs), st.size, st.mtimeMs];
    });
    renameSync(join(tmp, "rl.cjs.jsc"), `${BUNDLE}.jsc`);
    renameSync(join(tmp, "rl.cjs"), BUNDLE);
    // Written last: until it exists the bundle is not used.
    writeFileSync(join(tmp, "inputs.json"), JSON.stringify({ bun: Bun.revision, root: ROOT, files } satisfies Inputs));
    renameSync(join(tmp, "inputs.json"), INPUTS);
    return true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  if (!existsSync(ENTRY)) throw new Error(`Cannot build the bundle: ${ENTRY} is missing`);
  await build();
}
