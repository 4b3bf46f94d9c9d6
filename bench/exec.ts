#!/usr/bin/env bun
/**
 * `exec CTR true` latency: rl against rootless podman (runc) on a running container of each, of the same
 * image, in the same run, and the floor: nsenter into the rl container's namespaces (no Bun, no setup).
 * Run it as an ordinary user (not root):
 *
 *   bun bench/exec.ts [--rounds N] [--image oci:PATH[:REF]]
 *
 * Each round times one exec of each, rotating their order. Wall time is performance.now() around
 * Bun.spawnSync. rl uses a store of its own, podman its overlay driver with a private --root, --runroot
 * and XDG_RUNTIME_DIR; both containers are `sleep` with --network none, removed at the end.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, must, option } from "./timed";

const REPO = resolve(import.meta.dir, "..");
const ROUNDS = Number(option("--rounds", "20"));
const IMAGE = option("--image", `oci:${resolve(REPO, "../shared/fixtures/oci/alpine-3.20.3")}:3.20.3`);
const GOAL = 0.15;

if (process.getuid!() === 0) {
  process.stderr.write("run bench/exec.ts as an ordinary user with subordinate id ranges, not as root\n");
  process.exit(64);
}
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  process.stderr.write("--rounds needs a positive integer\n");
  process.exit(64);
}

const work = mkdtempSync(join(tmpdir(), "rl-bench-exec-"));
const rlEnv = { ...process.env, RL_ROOT: join(work, "rl", "data"), RL_RUNROOT: join(work, "rl", "run") } as Record<string, string>;
const podmanXdg = join(work, "podman-xdg");
mkdirSync(podmanXdg, { mode: 0o700 });
const podmanEnv = { ...process.env, XDG_RUNTIME_DIR: podmanXdg } as Record<string, string>;
const podman = ["podman", "--root", join(work, "podman", "root"), "--runroot", join(work, "podman", "run"), "--runtime", "runc", "--storage-driver", "overlay"];


/** Wall time of one run of `argv`, which must succeed. */
function time(argv: string[], env: Record<string, string>): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  return ms;
}

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;

// rl has no run -d here: its container is an `rl run` left running in the background.
const rlRun = Bun.spawn([RL, "run", "--name", "benchx", "--network", "none", IMAGE, "sleep", "100000"], { env: rlEnv, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
try {
  process.stderr.write("starting the containers...\n");
  for (let i = 0; ; i++) {
    if (must([RL, "ps", "--format", "{{.Names}} {{.Status}}"], rlEnv).includes("benchx Up")) break;
    if (i === 300) throw new Error(`the rl container did not come up: ${await new Response(rlRun.stderr).text()}`);
    await Bun.sleep(100);
  }
  const podmanId = must([...podman, "pull", "-q", IMAGE], podmanEnv).trim().split("\n").pop()!;
  must([...podman, "run", "-d", "--name", "benchx", "--network", "none", podmanId, "sleep", "100000"], podmanEnv);
  const pid = must([RL, "inspect", "-f", "{{.State.Pid}}", "benchx"], rlEnv).trim();

  const TOOLS: Record<string, [string[], Record<string, string>]> = {
    rl: [[RL, "exec", "benchx", "true"], rlEnv],
    podman: [[...podman, "exec", "benchx", "true"], podmanEnv],
    nsenter: [["nsenter", "--target", pid, "--user", "--mount", "--pid", "--uts", "--ipc", "--net", "--cgroup", "--preserve-credentials", "true"], rlEnv],
  };
  const names = Object.keys(TOOLS);
  for (const n of names) time(...TOOLS[n]!); // warm-up
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const n = names[(i + round) % names.length]!;
      samples[n]!.push(time(...TOOLS[n]!));
    }
  }
  const load = (await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ");
  console.log(`exec CTR true, ${ROUNDS} rounds, rl runs its ${rlStartMode()}, load average at the end ${load}`);
  console.log("| command | median | p10 | p90 | rl / it |");
  console.log("|---|---|---|---|---|");
  const rlMedian = median(samples.rl!);
  for (const n of names) {
    const m = median(samples[n]!);
    console.log(`| ${n} | ${m.toFixed(1)} ms | ${percentile(samples[n]!, 0.1).toFixed(1)} ms | ${percentile(samples[n]!, 0.9).toFixed(1)} ms | ${n === "rl" ? "" : `${(rlMedian / m).toFixed(2)}x`} |`);
  }
  const ratio = rlMedian / median(samples.podman!);
  console.log(`goal rl <= ${GOAL}x podman: ${ratio <= GOAL ? "met" : "missed"} (${ratio.toFixed(3)}x)`);
} finally {
  Bun.spawnSync([RL, "rm", "-f", "benchx"], { env: rlEnv, stdout: "ignore", stderr: "ignore" });
  rlRun.kill("SIGKILL");
  await rlRun.exited;
  Bun.spawnSync([...podman, "rm", "-f", "-t", "0", "benchx"], { env: podmanEnv, stdout: "ignore", stderr: "ignore" });
  endPodmanPause(podmanXdg);
  // The stores hold files of subordinate ids: removed from inside a user namespace.
  if (existsSync(work)) await runWorkerJob(tmpdir(), { kind: "remove", paths: [work] });
  rmSync(work, { recursive: true, force: true });
}
