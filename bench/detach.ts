#!/usr/bin/env bun
/**
 * Detached containers: rl against rootless podman (runc), same run, the tools' order swapped every round.
 * Run it as an ordinary user (not root):
 *
 *   bun bench/detach.ts [--rounds N] [--containers N] [--work DIR]
 *
 * - `run -d --network none IMAGE sleep` latency (until the command returns: the container runs);
 * - `stop` of a container that ends on SIGTERM (`--init sleep`: the init passes SIGTERM on, sleep dies);
 * - memory per detached `sleep` container with --containers of them running (default 50), default
 *   network (slirp4netns for both), counted all-in: the PSS (/proc/PID/smaps_rollup) of every process
 *   of the user that was not there before they started, i.e. rl's monitor + slirp4netns + the container,
 *   podman's conmon + slirp4netns + the container (+ its pause process, if this run started it).
 * Goals (issue 16): run -d ≤ 0.15x podman's time; PSS per container ≤ 0.5x podman's.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, option } from "./timed";

const REPO = resolve(import.meta.dir, "..");
const IMAGE = `oci:${resolve(REPO, "../shared/fixtures/oci/busybox-1.38.0-musl-amd64")}`;
const ROUNDS = Number(option("--rounds", "15"));
const COUNT = Number(option("--containers", "50"));
const WORK = resolve(option("--work", join(process.env.HOME ?? "/tmp", "rl-bench-detach")));

if (process.getuid!() === 0) {
  process.stderr.write("run bench/detach.ts as an ordinary user with subordinate id ranges, not as root\n");
  process.exit(64);
}

const stores = join(WORK, "stores");
const rlEnv = { ...process.env, RL_ROOT: join(stores, "rl", "data"), RL_RUNROOT: join(stores, "rl", "run") } as Record<string, string>;
const podmanXdg = join(WORK, "podman-xdg");
const podmanEnv = { ...process.env, XDG_RUNTIME_DIR: podmanXdg } as Record<string, string>;
const podman = ["podman", "--root", join(stores, "podman", "root"), "--runroot", join(stores, "podman", "run"), "--runtime", "runc", "--storage-driver", "overlay"];

function must(argv: string[], env: Record<string, string>): string {
  const r = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  return r.stdout.toString();
}

function time(argv: string[], env: Record<string, string>): { ms: number; out: string } {
  const t0 = performance.now();
  const out = must(argv, env);
  return { ms: performance.now() - t0, out: out.trim() };
}

/** The user's processes now. */
function ownPids(): Set<number> {
  const uid = process.getuid!();
  const out = new Set<number>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1] === String(uid)) out.add(Number(name));
    } catch {}
  }
  return out;
}

function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

async function clean(): Promise<void> {
  if (existsSync(stores)) await runWorkerJob(WORK, { kind: "remove", paths: [stores] });
}

mkdirSync(podmanXdg, { recursive: true, mode: 0o700 });
await clean();
process.stderr.write("loading the image into rl and podman...\n");
must([RL, "run", "--rm", "--network", "none", IMAGE, "true"], rlEnv);
const rlImage = must([RL, "images", "-q"], rlEnv).trim();
const podmanImage = must([...podman, "pull", "-q", IMAGE], podmanEnv).trim();

const tools = {
  rl: { argv: [RL], env: rlEnv, image: rlImage },
  podman: { argv: podman, env: podmanEnv, image: podmanImage },
};
type Tool = keyof typeof tools;
const samples: Record<string, number[]> = {};
const add = (k: string, ms: number) => (samples[k] ??= []).push(ms);

for (let round = 0; round < ROUNDS; round++) {
  const order: Tool[] = round % 2 ? ["podman", "rl"] : ["rl", "podman"];
  for (const name of order) {
    const t = tools[name];
    const run = time([...t.argv, "run", "-d", "--network", "none", t.image, "sleep", "1000"], t.env);
    add(`${name} run -d`, run.ms);
    must([...t.argv, "rm", "-f", run.out], t.env);
    const polite = must([...t.argv, "run", "-d", "--init", "--network", "none", t.image, "sleep", "1000"], t.env).trim();
    add(`${name} stop`, time([...t.argv, "stop", polite], t.env).ms);
    must([...t.argv, "rm", polite], t.env);
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}: ${Object.entries(samples).map(([k, v]) => `${k} ${v.at(-1)!.toFixed(1)} ms`).join(", ")}\n`);
}

const memory: Record<string, number> = {};
for (const name of ["rl", "podman"] as Tool[]) {
  const t = tools[name];
  const before = ownPids();
  const ids: string[] = [];
  for (let i = 0; i < COUNT; i++) ids.push(must([...t.argv, "run", "-d", t.image, "sleep", "1000"], t.env).trim());
  await Bun.sleep(1000);
  const added = [...ownPids()].filter((p) => !before.has(p));
  memory[name] = added.reduce((sum, p) => sum + pssKiB(p), 0) / COUNT;
  process.stderr.write(`${name}: ${COUNT} containers, ${added.length} processes, ${(memory[name]! / 1024).toFixed(2)} MiB PSS per container\n`);
  must([...t.argv, "rm", "-f", ...(name === "podman" ? ["-t", "0"] : []), ...ids], t.env);
}

await clean();
endPodmanPause(podmanXdg);
rmSync(podmanXdg, { recursive: true, force: true });

const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`detached containers, busybox, ${ROUNDS} rounds, rl runs its ${rlStartMode()}, load average at the end ${load}, medians:`);
console.log("| | rl | podman (runc) | rl / podman | goal |");
console.log("|---|---|---|---|---|");
for (const [what, goal] of [["run -d", 0.15], ["stop", undefined]] as const) {
  const a = median(samples[`rl ${what}`]!), b = median(samples[`podman ${what}`]!);
  console.log(`| \`${what}\` | ${a.toFixed(1)} ms | ${b.toFixed(1)} ms | ${(a / b).toFixed(3)}x | ${goal ? `≤ ${goal}x` : ""} |`);
}
console.log(`| PSS per running container (${COUNT}) | ${(memory.rl! / 1024).toFixed(2)} MiB | ${(memory.podman! / 1024).toFixed(2)} MiB | ${(memory.rl! / memory.podman!).toFixed(3)}x | ≤ 0.5x |`);
