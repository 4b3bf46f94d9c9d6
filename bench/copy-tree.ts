#!/usr/bin/env bun
/**
 * The copy of a merged tree through descriptors (rootfs/copy-tree.ts: what fills a volume and makes a
 * vfs container's root) against GNU `cp -a` of the same tree (which keeps as much: owners, modes,
 * times, xattrs, hard links, holes), and optionally against another checkout's flattenLayers, same run,
 * the order rotated every round. Run it as an ordinary user:
 *
 *   bun bench/copy-tree.ts [--rounds N] [--work DIR] [--tree DIR] [--baseline OLD_REPO]
 *
 * The tree (default: a copy of /usr/share/doc, zoneinfo and i18n in --work, ~7k entries, ~140 MiB) is
 * one layer; each copy goes to a fresh directory, removed and synced before the next is timed. rl's
 * copies run in this process (no Bun start, no user namespace: the files are the user's), `cp` as a
 * program.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { median, option } from "./timed";

const ROUNDS = Number(option("--rounds", "6"));
const WORK = resolve(option("--work", join(process.env.HOME ?? "/tmp", "rl-bench-copy")));
const BASELINE = option("--baseline", "");

type Flatten = (layerDirs: string[], dest: string) => void;

let tree = option("--tree", "");
if (!tree) {
  tree = join(WORK, "tree");
  if (!existsSync(tree)) {
    process.stderr.write("preparing the tree...\n");
    mkdirSync(tree, { recursive: true });
    for (const d of ["doc", "zoneinfo", "i18n"]) Bun.spawnSync(["cp", "-a", `/usr/share/${d}`, tree]);
  }
}
tree = resolve(tree);
const entries = Number(Bun.spawnSync(["sh", "-c", `find '${tree}' | wc -l`]).stdout.toString().trim());
const bytes = Number(Bun.spawnSync(["du", "-sb", tree]).stdout.toString().split("\t")[0]);

const tools: { name: string; run: (dest: string) => void }[] = [];
const { flattenLayers } = (await import("../cli/lib/rootfs/flatten")) as { flattenLayers: Flatten };
tools.push({ name: "rl copy", run: (dest) => flattenLayers([tree], dest) });
if (BASELINE) {
  const old = (await import(resolve(BASELINE, "cli/lib/rootfs/flatten.ts"))) as { flattenLayers: Flatten };
  tools.push({ name: "rl (baseline)", run: (dest) => old.flattenLayers([tree], dest) });
}
tools.push({
  name: "cp -a",
  run: (dest) => {
    const r = Bun.spawnSync(["cp", "-a", "--reflink=auto", tree, dest], { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`cp: ${r.stderr}`);
  },
});

const dest = join(WORK, "copy");
const samples = new Map(tools.map((t) => [t.name, [] as number[]]));
for (let round = 0; round < ROUNDS + 1; round++) {
  for (let i = 0; i < tools.length; i++) {
    const t = tools[(round + i) % tools.length]!;
    rmSync(dest, { recursive: true, force: true });
    Bun.spawnSync(["sync"]);
    const t0 = performance.now();
    t.run(dest);
    const ms = performance.now() - t0;
    if (round > 0) samples.get(t.name)!.push(ms); // round 0 warms the caches
  }
}
rmSync(dest, { recursive: true, force: true });

const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
console.log(`tree ${tree}: ${entries} entries, ${(bytes / 2 ** 20).toFixed(1)} MiB; ${ROUNDS} rounds; load ${load}`);
const base = median(samples.get("rl copy")!);
for (const t of tools) {
  const m = median(samples.get(t.name)!);
  console.log(`${t.name.padEnd(14)} ${m.toFixed(1).padStart(8)} ms   rl copy / this ${(base / m).toFixed(2)}x`);
}
