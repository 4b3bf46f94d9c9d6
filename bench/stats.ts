#!/usr/bin/env bun
/**
 * What `rl stats --no-stream` costs: for N running containers with a cgroup of their own, the one report
 * with the default interval (1 s: CPU % is measured over it), the same with a 10 ms interval (what the
 * command itself costs), and `rl ps` (a command's floor in the same place), against `podman stats
 * --no-stream` when the guest has podman. Stats need a delegated cgroup v2, so it runs in the
 * user-mode-linux guest of ../shared/tools/cgroup-vm: started on the host, it boots the guest with the
 * repository shared and runs itself there. (On these hybrid-cgroup hosts rootless podman's stats fails
 * too: "stats is not supported in rootless mode without cgroups v2".)
 *
 *   bun bench/stats.ts [--rounds N] [--containers N] [--json]
 *
 * Each round times every command once, in a rotating order (performance.now() around Bun.spawnSync).
 * Times in the guest are UML's: compare the rows with each other, not with benchmarks on the host.
 */
import { BUSYBOX as IMAGE, inCgroupVm, median, which } from "./cgroup-vm-bench";
import { RL, rlStartMode } from "./rl-command";

const argv = process.argv.slice(2);
const option = (name: string, fallback: number) => Number(argv[argv.indexOf(name) + 1] ?? 0) || fallback;
const rounds = argv.includes("--rounds") ? option("--rounds", 10) : 10;
const containers = argv.includes("--containers") ? option("--containers", 3) : 3;

function run(cmd: string[]): string {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

async function inGuest(): Promise<void> {
  const names = Array.from({ length: containers }, (_, i) => `bench-stats-${i}`);
  // --pids-limit -1: a cgroup of its own, without a limit.
  const runs = names.map((n) => Bun.spawn([RL, "run", "--name", n, "--network", "none", "--pids-limit", "-1", IMAGE, "sleep", "3600"], { stdout: "ignore", stderr: "inherit" }));
  try {
    for (let i = 0; run([RL, "ps", "-q"]).trim().split("\n").filter(Boolean).length < containers; i++) {
      if (i === 600) throw new Error("the containers did not start");
      await Bun.sleep(100);
    }
    const podman = which("podman");
    const commands: [string, string[]][] = [
      ["rl ps", [RL, "ps"]],
      ["rl stats --no-stream -i 0.01", [RL, "stats", "--no-stream", "-i", "0.01"]],
      ["rl stats --no-stream", [RL, "stats", "--no-stream"]],
    ];
    if (podman) commands.push(["podman stats --no-stream", [podman, "stats", "--no-stream"]]);
    for (const [, cmd] of commands) run(cmd);
    const times = commands.map(() => [] as number[]);
    for (let round = 0; round < rounds; round++) {
      for (let k = 0; k < commands.length; k++) {
        const i = (round + k) % commands.length;
        const t0 = performance.now();
        run(commands[i]![1]);
        times[i]!.push(performance.now() - t0);
      }
    }
    const rows = commands.map(([name], i) => ({ name, medianMs: Math.round(median(times[i]!) * 10) / 10, minMs: Math.round(Math.min(...times[i]!) * 10) / 10 }));
    const result = { rounds, containers, image: IMAGE, rl: rlStartMode(), podman: podman ?? "not installed in the guest", rows };
    if (argv.includes("--json")) return console.log(JSON.stringify(result));
    console.log(`stats in the cgroup-vm guest (UML, 1 CPU), ${containers} containers, ${rounds} rounds, rl runs its ${result.rl}; podman: ${result.podman}`);
    for (const r of rows) console.log(`  ${r.name.padEnd(30)} median ${String(r.medianMs).padStart(8)} ms   min ${String(r.minMs).padStart(8)} ms`);
  } finally {
    Bun.spawnSync([RL, "rm", "-f", ...names], { stdout: "ignore", stderr: "ignore" });
    await Promise.all(runs.map((p) => p.exited));
  }
}

await inCgroupVm(import.meta.path, argv, inGuest);
