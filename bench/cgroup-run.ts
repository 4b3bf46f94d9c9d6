#!/usr/bin/env bun
/**
 * Start-up cost of a memory limit: `rl run --rm --network none --memory 64m IMAGE true` against the same
 * without a limit, and against podman (`--runtime runc`) with the same limit when the guest has podman. It
 * runs in the user-mode-linux guest of ../shared/tools/cgroup-vm (the only place here with a delegated
 * cgroup v2): started on the host, it boots the guest with the repository shared and runs itself there.
 * The stock guest has no podman; bench/cgroup-vm-podman.sh (as root) builds a copy that has it:
 *
 *   [RL_CGVM_DIR=/var/tmp/rl-cgroup-vm-podman] bun bench/cgroup-run.ts [--rounds N] [--json]
 *
 * Both tools run the busybox image by its id, imported by an untimed first run (rl) or `podman pull oci:`.
 * Each round times every command once, in a rotating order (performance.now() around Bun.spawnSync).
 * Times in the guest are UML's: fork, exec and page faults cost far more than on the host, so compare
 * the commands with each other, not with bench/run-true.ts.
 */
import { BUSYBOX as IMAGE, inCgroupVm, median, which } from "./cgroup-vm-bench";
import { RL, rlStartMode } from "./rl-command";
import { must } from "./timed";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(name);
const rounds = Number(argv[argv.indexOf("--rounds") + 1] ?? 0) || 15;

const run = (argv: string[]) => must(argv, process.env as Record<string, string>).trim();

function inGuest(): void {
  // The guest's store is new at each boot: the first run imports the image, then both tools run it by id.
  run([RL, "run", "--rm", "--network", "none", IMAGE, "true"]);
  const rlImage = run([RL, "images", "-q"]);
  const rlRun = [RL, "run", "--rm", "--network", "none"];
  const commands: [string, string[]][] = [
    ["rl, no limit", [...rlRun, rlImage, "true"]],
    ["rl --memory 64m", [...rlRun, "--memory", "64m", rlImage, "true"]],
  ];
  const podman = which("podman");
  let podmanNote = "not installed in the guest (bench/cgroup-vm-podman.sh builds a guest with it)";
  if (podman) {
    const id = run([podman, "pull", "-q", IMAGE]).split("\n").pop()!;
    commands.push(["podman --memory 64m", [podman, "--runtime", "runc", "run", "--rm", "--network", "none", "--memory", "64m", id.slice(0, 12), "true"]]);
    podmanNote = run([podman, "--runtime", "runc", "info", "--format", "{{.Version.Version}}, runc, {{.Store.GraphDriverName}}, {{.Host.CgroupManager}}"]);
  }
  for (const [, cmd] of commands) run(cmd); // warm-up
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
  // rl over podman, both with the limit: the comparison the issue asks for.
  const rlOverPodman = podman ? Math.round((median(times[1]!) / median(times[2]!)) * 100) / 100 : null;
  const result = { rounds, image: IMAGE, rl: rlStartMode(), podman: podmanNote, rows, rlOverPodman };
  if (flag("--json")) return console.log(JSON.stringify(result));
  console.log(`cgroup-run in the cgroup-vm guest (UML, 1 CPU), ${rounds} rounds, rl runs its ${result.rl}; podman: ${result.podman}`);
  for (const r of rows) console.log(`  ${r.name.padEnd(22)} median ${String(r.medianMs).padStart(7)} ms   x${r.ratio} of rl without a limit`);
  if (rlOverPodman !== null) console.log(`  rl --memory 64m / podman --memory 64m: x${rlOverPodman}`);
}

await inCgroupVm(import.meta.path, argv, inGuest);
