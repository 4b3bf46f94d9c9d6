#!/usr/bin/env bun
/**
 * Start-up cost of a memory limit: `rl run --rm --network none --memory 64m IMAGE true` against the same
 * without a limit, and against podman with the same limit when the guest has podman. It runs in the
 * user-mode-linux guest of ../shared/tools/cgroup-vm (the only place here with a delegated cgroup v2):
 * started on the host, it boots the guest with the repository shared and runs itself there.
 *
 *   bun bench/cgroup-run.ts [--rounds N] [--json]
 *
 * Each round times every command once, in a rotating order (performance.now() around Bun.spawnSync).
 * Times in the guest are UML's: fork, exec and page faults cost far more than on the host, so compare
 * the commands with each other, not with bench/run-true.ts.
 */
import { BUSYBOX as IMAGE, inCgroupVm, median, which } from "./cgroup-vm-bench";
import { RL, rlStartMode } from "./rl-command";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] ?? 0) || 15;

function inGuest(): void {
  const podman = which("podman");
  const commands: [string, string[]][] = [
    ["rl, no limit", [RL, "run", "--rm", "--network", "none", IMAGE, "true"]],
    ["rl --memory 64m", [RL, "run", "--rm", "--network", "none", "--memory", "64m", IMAGE, "true"]],
  ];
  if (podman) commands.push(["podman --memory 64m", [podman, "run", "--rm", "--network", "none", "--memory", "64m", IMAGE, "true"]]);
  // Warm up: the image is imported into the store by the first run.
  for (const [name, cmd] of commands) {
    const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${name} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
  }
  const times = commands.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < commands.length; k++) {
      const i = (round + k) % commands.length;
      const t0 = performance.now();
      const r = Bun.spawnSync(commands[i]![1], { stdout: "ignore", stderr: "pipe" });
      times[i]!.push(performance.now() - t0);
      if (r.exitCode !== 0) throw new Error(`${commands[i]![0]} failed (${r.exitCode}): ${r.stderr.toString().trim()}`);
    }
  }
  const base = median(times[0]!);
  const rows = commands.map(([name], i) => ({ name, medianMs: Math.round(median(times[i]!) * 10) / 10, ratio: Math.round((median(times[i]!) / base) * 100) / 100 }));
  const result = { rounds, image: IMAGE, rl: rlStartMode(), podman: podman ?? "not installed in the guest", rows };
  if (flag("--json")) return console.log(JSON.stringify(result));
  console.log(`cgroup-run in the cgroup-vm guest (UML, 1 CPU), ${rounds} rounds, rl runs its ${result.rl}; podman: ${result.podman}`);
  for (const r of rows) console.log(`  ${r.name.padEnd(22)} median ${String(r.medianMs).padStart(7)} ms   x${r.ratio} of rl without a limit`);
}

await inCgroupVm(import.meta.path, argv, inGuest);
