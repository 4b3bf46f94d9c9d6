#!/usr/bin/env bun
/**
 * `rl cp` against `podman cp` (`--runtime runc`, overlay driver, a private --root), same run, the tools'
 * order rotated every round, for a stopped and a running container of the alpine fixture: a small file
 * out and in, a 64 MiB file out, and the container's /usr (a directory of ~600 entries) out. Run it as an
 * ordinary user (not root):
 *
 *   bun bench/cp.ts [--rounds N] [--work DIR]
 *
 * Wall time is `performance.now()` around the command, peak RSS GNU time's %M (the largest process of
 * the tree: rl's user-namespace copy job included). What a copy writes on the host is removed after it.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { removePaths } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, must, option, timed, type Sample } from "./timed";

const REPO = resolve(import.meta.dir, "..");
const ALPINE = `oci:${resolve(REPO, "../shared/fixtures/oci/alpine-3.20.3")}:3.20.3`;
const ROUNDS = Number(option("--rounds", "5"));
const WORK = resolve(option("--work", join(process.env.HOME ?? "/tmp", "rl-bench-cp")));

if (process.getuid!() === 0) {
  process.stderr.write("run bench/cp.ts as an ordinary user with subordinate id ranges, not as root\n");
  process.exit(64);
}

// The stores hold files of subordinate ids: removed from inside a user namespace.
await removePaths(join(WORK, "..", ".rl-bench-cp-tmp"), [WORK]);
mkdirSync(WORK, { recursive: true });
const rlEnv = { ...process.env, RL_ROOT: join(WORK, "rl/data"), RL_RUNROOT: join(WORK, "rl/run") } as Record<string, string>;
const xdg = join(WORK, "podman-xdg");
mkdirSync(xdg, { recursive: true, mode: 0o700 });
const podmanEnv = { ...process.env, XDG_RUNTIME_DIR: xdg } as Record<string, string>;
const PODMAN = ["podman", "--runtime", "runc", "--root", join(WORK, "podman/root"), "--runroot", join(WORK, "podman/run")];
const SETUP = "head -c 67108864 /dev/urandom > /big && echo small > /small";


process.stderr.write("preparing the containers...\n");
must([RL, "run", "--name", "stopped", ALPINE, "sh", "-c", SETUP], rlEnv);
const running = Bun.spawn([RL, "run", "--name", "running", ALPINE, "sh", "-c", `${SETUP} && exec sleep 100000`], { env: rlEnv, stdout: "ignore", stderr: "ignore" });
must([...PODMAN, "run", "--name", "stopped", ALPINE, "sh", "-c", SETUP], podmanEnv);
must([...PODMAN, "run", "-d", "--name", "running", ALPINE, "sh", "-c", `${SETUP} && exec sleep 100000`], podmanEnv);
for (let i = 0; i < 100; i++) {
  const ready = Bun.spawnSync([RL, "cp", "running:/small", join(WORK, "probe")], { env: rlEnv, stderr: "ignore" }).exitCode === 0;
  const podReady = Bun.spawnSync([...PODMAN, "cp", "running:/small", join(WORK, "probe")], { env: podmanEnv, stderr: "ignore" }).exitCode === 0;
  if (ready && podReady) break;
  await Bun.sleep(200);
}
writeFileSync(join(WORK, "payload"), "payload\n");

const OUT = join(WORK, "out");
const cases: [string, (c: string) => [string, string]][] = [
  ["small file out", (c) => [`${c}:/small`, OUT]],
  ["small file in", (c) => [join(WORK, "payload"), `${c}:/payload`]],
  ["64 MiB file out", (c) => [`${c}:/big`, OUT]],
  ["/usr out", (c) => [`${c}:/usr`, OUT]],
];
const samples = new Map<string, Sample[]>();
const add = (key: string, s: Sample) => samples.set(key, [...(samples.get(key) ?? []), s]);
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of ["stopped", "running"]) {
      for (const [name, args] of cases) {
        const tools: [string, string[], Record<string, string>][] = [
          ["rl", [RL, "cp", ...args(c)], rlEnv],
          ["podman", [...PODMAN, "cp", ...args(c)], podmanEnv],
        ];
        if (round % 2) tools.reverse();
        for (const [tool, argv, env] of tools) {
          rmSync(OUT, { recursive: true, force: true });
          add(`${c} ${name} ${tool}`, timed(argv, join(WORK, "rss"), env));
        }
      }
    }
  }
} finally {
  running.kill("SIGKILL");
  Bun.spawnSync([RL, "rm", "-f", "stopped", "running"], { env: rlEnv, stdout: "ignore", stderr: "ignore" });
  Bun.spawnSync([...PODMAN, "rm", "-f", "-t", "0", "stopped", "running"], { env: podmanEnv, stdout: "ignore", stderr: "ignore" });
  Bun.spawnSync([...PODMAN, "unshare", "rm", "-rf", join(WORK, "podman")], { env: podmanEnv, stdout: "ignore", stderr: "ignore" });
  endPodmanPause(xdg);
  await removePaths(join(WORK, "..", ".rl-bench-cp-tmp"), [WORK]);
}

console.log(`rl cp vs podman cp, ${ROUNDS} rounds, medians (rl: ${rlStartMode()})\n`);
console.log("| container | copy | rl | podman | rl / podman |\n|---|---|---|---|---|");
for (const c of ["stopped", "running"]) {
  for (const [name] of cases) {
    const of = (tool: string) => samples.get(`${c} ${name} ${tool}`)!;
    const ms = (tool: string) => median(of(tool).map((s) => s.ms));
    const rss = (tool: string) => Math.round(median(of(tool).map((s) => s.rssKiB)) / 1024);
    console.log(`| ${c} | ${name} | ${ms("rl").toFixed(0)} ms, ${rss("rl")} MiB | ${ms("podman").toFixed(0)} ms, ${rss("podman")} MiB | ${(ms("rl") / ms("podman")).toFixed(2)}x |`);
  }
}
