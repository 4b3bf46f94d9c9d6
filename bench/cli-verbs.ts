#!/usr/bin/env bun
/**
 * Start-up of rl's everyday verbs against podman's: `ps`, `images`, `ps -a --format json` and two Go
 * templates (`ps -a --format '{{.Names}}'`, a `table` one of `images`) and `inspect -f '{{.State.Pid}}'`,
 * each with a store holding one image and three exited containers. Run it as an ordinary user (not root):
 *
 *   bun bench/cli-verbs.ts [--rounds N] [--json] [--no-podman]
 *
 * Each round times every command once, rotating their order. Wall time is measured with
 * performance.now() around Bun.spawnSync, stdout discarded. rl uses a private store in a temp dir
 * (removed at the end); podman uses the user's own store, where the script adds three exited
 * containers of the busybox image and removes them at the end. The "bun floor" row is a Bun executable
 * compiled as rl is (bytecode) that does nothing: what any verb of a Bun CLI pays before its own work.
 * See bench/README.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RL, rlStartMode } from "./rl-command";

const REPO = resolve(import.meta.dir, "..");
const IMAGE = `oci:${resolve(REPO, "../shared/fixtures/oci/busybox-1.38.0-musl-amd64")}`;
/** The first container of each tool is named, for inspect. */
const NAME = `rl-bench-${process.pid}`;
const VERBS = [["ps"], ["images"], ["ps", "-a", "--format", "json"], ["ps", "-a", "--format", "{{.Names}}"], ["images", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.Size}}"], ["inspect", "-f", "{{.State.Pid}}", NAME]];
const CONTAINERS = 3;

const args = Bun.argv.slice(2);
let rounds = 20;
let json = false;
let podman = true;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--rounds" && Number.isInteger(Number(args[i + 1])) && Number(args[++i]) > 0) rounds = Number(args[i]);
  else if (a === "--json") json = true;
  else if (a === "--no-podman") podman = false;
  else {
    process.stderr.write(`usage: bun bench/cli-verbs.ts [--rounds N] [--json] [--no-podman]\n`);
    process.exit(a === "-h" || a === "--help" ? 0 : 64);
  }
}
if (process.getuid?.() === 0) {
  process.stderr.write("Cannot benchmark: run this as an ordinary (non-root) user; rootless is the point\n");
  process.exit(64);
}
const log = (s: string) => (json ? process.stderr : process.stdout).write(s + "\n");

const dir = mkdtempSync(join(tmpdir(), "rl-bench-verbs-"));
const rlEnv = { ...process.env, RL_ROOT: join(dir, "root"), RL_RUNROOT: join(dir, "run") };
const podmanContainers: string[] = [];
process.on("exit", () => {
  if (podmanContainers.length) Bun.spawnSync(["podman", "rm", "-f", ...podmanContainers], { stdout: "ignore", stderr: "ignore" });
  // The store holds files owned by subordinate ids: rl removes them from inside its user namespace.
  Bun.spawnSync([RL, "system", "reset", "-f"], { cwd: REPO, env: rlEnv, stdout: "ignore", stderr: "ignore" });
  rmSync(dir, { recursive: true, force: true });
});

/** Run argv; throws with its stderr when it fails, so set-up errors are never timed. */
function exec(argv: string[], env: Record<string, string | undefined> = process.env): { ms: number; stdout: string } {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { cwd: REPO, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}: ${p.stderr.toString().trim().split("\n").pop()}`);
  return { ms, stdout: p.stdout.toString() };
}

const bun = process.execPath;
const loadBefore = loadavg().map((x) => x.toFixed(2)).join(" ");
log(`set-up: rl store in ${dir} with ${IMAGE} and ${CONTAINERS} exited containers`);
for (let i = 0; i < CONTAINERS; i++) exec([RL, "run", ...(i === 0 ? ["--name", NAME] : []), "--network", "none", IMAGE, "true"], rlEnv);

interface Cmd {
  name: string;
  argv: string[];
  env?: Record<string, string | undefined>;
  samples: number[];
}
const cmds: Cmd[] = VERBS.map((v) => ({ name: `rl ${v.join(" ")}`, argv: [RL, ...v], env: rlEnv, samples: [] }));
let podmanNote = "podman not run";
if (podman) {
  log(`set-up: podman pull ${IMAGE} and ${CONTAINERS} exited containers in the user's podman store`);
  const id = exec(["podman", "pull", "-q", IMAGE]).stdout.trim().split("\n").pop()!;
  for (let i = 0; i < CONTAINERS; i++) {
    const cid = exec(["podman", "--runtime", "runc", "run", "-d", ...(i === 0 ? ["--name", NAME] : []), "--network", "none", id, "true"]).stdout.trim();
    podmanContainers.push(cid);
    exec(["podman", "wait", cid]);
  }
  const count = (argv: string[]) => exec(argv).stdout.trim().split("\n").filter(Boolean).length;
  podmanNote = `${exec(["podman", "--version"]).stdout.trim()}; its store: ${count(["podman", "images", "-q"])} images, ${count(["podman", "ps", "-a", "-q"])} containers`;
  cmds.push(...VERBS.map((v) => ({ name: `podman ${v.join(" ")}`, argv: ["podman", ...v], samples: [] })));
}

/** A Bun executable compiled as `bun install` compiles rl (--compile --bytecode) that only exits. */
function bunFloor(): Cmd | undefined {
  const src = join(dir, "floor.ts");
  writeFileSync(src, "process.exitCode = 0;\n");
  const exe = join(dir, "bun-floor");
  const r = Bun.spawnSync([bun, "build", "--compile", "--bytecode", src, "--outfile", exe], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode === 0) return { name: "bun floor", argv: [exe], samples: [] };
  log(`bun floor not measured: bun build failed: ${r.stderr.toString().trim().split("\n").pop()}`);
}
const floor = bunFloor();
if (floor) cmds.push(floor);

log(`timing ${rounds} rounds of ${cmds.length} commands (order rotates each round)`);
for (const c of cmds) exec(c.argv, c.env); // warm-up, untimed
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < cmds.length; i++) {
    const c = cmds[(i + round) % cmds.length]!;
    c.samples.push(exec(c.argv, c.env).ms);
  }
}

/** Linear-interpolated percentile, q in [0,1]. */
function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  return s[Math.floor(pos)]! + (s[Math.ceil(pos)]! - s[Math.floor(pos)]!) * (pos - Math.floor(pos));
}
const median = (name: string) => {
  const c = cmds.find((x) => x.name === name);
  return c ? percentile(c.samples, 0.5) : undefined;
};
const rows = VERBS.map((v) => {
  const rl = cmds.find((c) => c.name === `rl ${v.join(" ")}`)!;
  const peer = median(`podman ${v.join(" ")}`);
  const rlMs = percentile(rl.samples, 0.5);
  return { verb: v.join(" "), rlMs, rlP10: percentile(rl.samples, 0.1), rlP90: percentile(rl.samples, 0.9), podmanMs: peer, ratio: peer ? rlMs / peer : undefined };
});
const mode = rlStartMode();
const floorMs = median("bun floor");

if (json) {
  console.log(JSON.stringify({ rounds, load: loadBefore, bun: Bun.version, rlStart: mode, podman: podmanNote, bunFloorMs: floorMs, rows, samples: Object.fromEntries(cmds.map((c) => [c.name, c.samples])) }, null, 2));
} else {
  const f = (x?: number) => (x === undefined ? "-" : x.toFixed(1));
  const table = [["verb", "rl ms", "p10", "p90", "podman ms", "rl/podman", "0.3x podman"], ...rows.map((r) => [r.verb, f(r.rlMs), f(r.rlP10), f(r.rlP90), f(r.podmanMs), r.ratio === undefined ? "-" : `${r.ratio.toFixed(2)}x`, f(r.podmanMs && r.podmanMs * 0.3)])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  log("");
  log(`${rounds} rounds; bun ${Bun.version}; rl runs its ${mode}; ${podmanNote}; load ${loadBefore}`);
  for (const row of table) log(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
  if (floorMs !== undefined) log(`bun floor (a compiled Bun executable that only exits): ${f(floorMs)} ms`);
}
