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
 *   network (slirp4netns for both), counted all-in: the PSS (/proc/PID/smaps_rollup) of each container's
 *   processes and those that exist for it: rl's monitor + slirp4netns + the container's tree, podman's
 *   conmon + slirp4netns + the container's tree (its shared pause process is left out).
 * Goals (issue 16): run -d ≤ 0.15x podman's time; PSS per container ≤ 0.5x podman's.
 */
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, must, option } from "./timed";

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


function time(argv: string[], env: Record<string, string>): { ms: number; out: string } {
  const t0 = performance.now();
  const out = must(argv, env);
  return { ms: performance.now() - t0, out: out.trim() };
}

/** A process and its descendants (the container's own children), from /proc. */
function withDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {}
  }
  const out: number[] = [];
  for (const todo = [pid]; todo.length; ) {
    const p = todo.pop()!;
    out.push(p);
    todo.push(...(children.get(p) ?? []));
  }
  return out;
}

/** The processes that exist for one detached container: its own tree, and its monitor and network helpers, by role. */
function containerProcesses(tool: Tool, id: string): { monitor: number[]; network: number[]; container: number[] } {
  if (tool === "rl") {
    const d = new Database(join(rlEnv.RL_ROOT!, "rl.db"), { readonly: true });
    try {
      const row = d.query("SELECT c.pid, c.monitor_pid, n.helpers FROM containers c LEFT JOIN container_networks n ON n.container_id = c.id WHERE c.id = ?").get(id) as { pid: number; monitor_pid: number; helpers: string | null };
      return { monitor: [row.monitor_pid], container: withDescendants(row.pid), network: (JSON.parse(row.helpers ?? "[]") as { pid: number }[]).map((h) => h.pid) };
    } finally {
      d.close();
    }
  }
  const [pid, conmon, sandbox] = must([...podman, "inspect", "-f", "{{.State.Pid}} {{.State.ConmonPid}} {{.NetworkSettings.SandboxKey}}", id], podmanEnv).trim().split(" ");
  // podman's slirp4netns names the container's network namespace by its path.
  const slirp = readdirSync("/proc").filter((n) => /^\d+$/.test(n)).filter((n) => {
    try {
      const argv = readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0");
      return argv[0]!.endsWith("slirp4netns") && argv.some((a) => a.includes(sandbox!));
    } catch {
      return false;
    }
  });
  return { monitor: [Number(conmon)], container: withDescendants(Number(pid)), network: slirp.map(Number) };
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
/** PSS per container in kB of each role's processes (rl's monitor or conmon, slirp4netns, the container's own). */
const roles: Record<string, Record<string, number>> = {};
for (const name of ["rl", "podman"] as Tool[]) {
  const t = tools[name];
  const ids: string[] = [];
  for (let i = 0; i < COUNT; i++) ids.push(must([...t.argv, "run", "-d", t.image, "sleep", "1000"], t.env).trim());
  await Bun.sleep(1000);
  const each = ids.map((id) => containerProcesses(name, id));
  const sum = (pids: number[]) => pids.reduce((s, p) => s + pssKiB(p), 0);
  roles[name] = Object.fromEntries((["monitor", "network", "container"] as const).map((r) => [r, each.reduce((s, e) => s + sum(e[r]), 0) / COUNT]));
  memory[name] = Object.values(roles[name]!).reduce((a, b) => a + b, 0);
  const pids = each.flatMap((e) => [...e.monitor, ...e.network, ...e.container]);
  process.stderr.write(`${name}: ${COUNT} containers, ${pids.length} processes, ${(memory[name]! / 1024).toFixed(2)} MiB PSS per container\n`);
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
const kB = (n: number) => `${Math.round(n)} kB`;
console.log(`| of which the monitor (rl's) / conmon (podman's) | ${kB(roles.rl!.monitor!)} | ${kB(roles.podman!.monitor!)} | | |`);
console.log(`| of which slirp4netns | ${kB(roles.rl!.network!)} | ${kB(roles.podman!.network!)} | | |`);
console.log(`| of which the container (sleep) | ${kB(roles.rl!.container!)} | ${kB(roles.podman!.container!)} | | |`);
