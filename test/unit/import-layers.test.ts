import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

// Imports in cli/lib go one way, down this list (issue 16: commands → engine → config / runtime / state /
// storage / network → executor / sys). A module may import from its own layer or any layer below it,
// never from one above: the layers above are built on the ones below, and a lower one that reached up
// (store into runtime, say) would tie the parts together again.
//
//   5  index.ts                    the library's entry point: re-exports from every layer
//   4  engine/                     container operations (start, stop, logs, prune, rmi -f ...)
//   3  runtime/ (with cgroup/)     spec → ops → a running container; ending and removing one
//   2  store/ rootfs/ network/ host/ image/ registry/ security/
//                                  state, storage and what containers are made of (peers)
//   1  sys/                        the executor's protocol (ops, clone flags, wait), libc, /proc
//   0  the files directly in cli/lib (errors.ts, log.ts, paths.ts ...), template/
//
// A new directory under cli/lib has to be given its place here (the last test says so).
const LAYERS: Record<string, number> = {
  "index.ts": 5,
  engine: 4,
  runtime: 3,
  store: 2,
  rootfs: 2,
  network: 2,
  host: 2,
  image: 2,
  registry: 2,
  security: 2,
  sys: 1,
  template: 0,
};

const LIB = resolve(import.meta.dir, "../../cli/lib");

/** The layer of a file under cli/lib: its top directory's, or for a file directly in cli/lib, 0 (index.ts its own). */
function layerOf(file: string): number | undefined {
  const rel = relative(LIB, file);
  const top = rel.split("/")[0]!;
  if (!rel.includes("/")) return LAYERS[top] ?? 0;
  return LAYERS[top];
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** The relative module specifiers a file imports or re-exports (type-only ones too), and dynamic import()s. */
function relativeImports(source: string): string[] {
  const specs: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["'](\.{1,2}\/[^"']+)["']/gm)) specs.push(m[1]!);
  return specs;
}

/** Every import in cli/lib that goes up the layer order, as "FILE → TARGET". */
function upwardImports(): { checked: number; upward: string[] } {
  let checked = 0;
  const upward: string[] = [];
  for (const file of tsFiles(LIB)) {
    const from = layerOf(file)!;
    for (const spec of relativeImports(readFileSync(file, "utf8"))) {
      const target = resolve(dirname(file), spec);
      if (relative(LIB, target).startsWith("..")) continue; // helpers/, core-as/: outside the library's layers
      checked++;
      const to = layerOf(target)!;
      if (to > from) upward.push(`${relative(LIB, file)} → ${relative(LIB, target)}`);
    }
  }
  return { checked, upward };
}

describe("import layers of cli/lib", () => {
  test("reads each kind of import", () => {
    const src = `import { a } from "../store/x";\nimport type { B } from "./y";\nexport { c } from "../runtime/z";\nimport "./side-effect";\nconst m = await import("../engine/w");\nimport { d } from "node:fs";`;
    expect(relativeImports(src)).toEqual(["../store/x", "./y", "../runtime/z", "./side-effect", "../engine/w"]);
  });

  test("ranks files by their top directory", () => {
    expect(layerOf(join(LIB, "store/containers-table.ts"))).toBe(2);
    expect(layerOf(join(LIB, "runtime/cgroup/freezer.ts"))).toBe(3);
    expect(layerOf(join(LIB, "errors.ts"))).toBe(0);
    expect(layerOf(join(LIB, "index.ts"))).toBe(5);
  });

  test("no import goes up the layer order", () => {
    const { checked, upward } = upwardImports();
    expect(checked).toBeGreaterThan(500);
    expect(upward).toEqual([]);
  });

  test("every directory of cli/lib has a layer", () => {
    const dirs = readdirSync(LIB, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(dirs.filter((d) => LAYERS[d] === undefined)).toEqual([]);
  });
});
