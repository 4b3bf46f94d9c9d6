#!/usr/bin/env bun
/**
 * `rl run --rm --network none IMAGE true` inside a container (rootless podman, runc, the image of
 * .ci/nested-image with --security-opt unmask=/proc/* --security-opt seccomp=unconfined) against the
 * same command on the host, in the same run. Run it as an ordinary user (not root):
 *
 *   bun bench/nested-run.ts [--rounds N]
 *
 * Both sides run `bun cli/main.ts` from this checkout with the busybox fixture. The outer container
 * stays up for the whole run; each nested sample is timed inside it (date +%s%N around the command),
 * so `podman exec`'s own cost is not counted. Rounds alternate which side goes first.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { NESTED_IMAGE_TAR, OuterPodman } from "../test/integration/nested-harness";

const REPO = resolve(import.meta.dir, "..");
const HOST_IMAGE = `oci:${resolve(REPO, "../shared/fixtures/oci/busybox-1.38.0-musl-amd64")}`;
const NESTED_IMAGE = "oci:/rl/shared/oci/busybox-1.38.0-musl-amd64";

const i = process.argv.indexOf("--rounds");
const rounds = i > 0 ? Number(process.argv[i + 1]) : 15;
if (!Number.isInteger(rounds) || rounds < 1) throw new Error("--rounds takes a positive integer");
if (process.getuid!() === 0) throw new Error("run as an ordinary user with subordinate ids, not root");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dir = mkdtempSync(join(tmpdir(), "rl-bench-nested-"));
const outer = new OuterPodman(join(dir, "podman"));
const hostEnv = { ...(process.env as Record<string, string>), RL_ROOT: join(dir, "host-data"), RL_RUNROOT: join(dir, "host-run") };
const name = "rl-bench-outer";

function hostOnce(): number {
  const t0 = performance.now();
  const r = Bun.spawnSync(["bun", join(REPO, "cli/main.ts"), "run", "--rm", "--network", "none", HOST_IMAGE, "true"], { env: hostEnv, stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`host rl run failed: ${r.stderr}`);
  return ms;
}

function nestedOnce(): number {
  const script = `t0=$(date +%s%N); bun /rl/repo/cli/main.ts run --rm --network none ${NESTED_IMAGE} true 2>/tmp/err || { cat /tmp/err >&2; exit 1; }; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 ))`;
  const r = outer.podman(["exec", name, "sh", "-c", script]);
  if (r.code !== 0) throw new Error(`nested rl run failed: ${r.stderr}`);
  return Number(r.stdout.trim()) / 1000;
}

try {
  outer.importImage();
  const up = outer.podman(["run", "-d", "--name", name, ...outer.containerArgs(["--security-opt", "unmask=/proc/*", "--security-opt", "seccomp=unconfined"]), "sleep", "infinity"]);
  if (up.code !== 0) throw new Error(`cannot start the outer container: ${up.stderr}`);
  // Warm-up: each side stores the image once.
  hostOnce();
  nestedOnce();
  const host: number[] = [], nested: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2) {
      host.push(hostOnce());
      nested.push(nestedOnce());
    } else {
      nested.push(nestedOnce());
      host.push(hostOnce());
    }
  }
  const h = median(host), n = median(nested);
  console.log(`rl run --rm --network none busybox true, ${rounds} rounds (outer image ${NESTED_IMAGE_TAR}), load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  console.log(`host    median ${h.toFixed(1)} ms  (min ${Math.min(...host).toFixed(1)}, max ${Math.max(...host).toFixed(1)})`);
  console.log(`nested  median ${n.toFixed(1)} ms  (min ${Math.min(...nested).toFixed(1)}, max ${Math.max(...nested).toFixed(1)})`);
  console.log(`nested / host: ${(n / h).toFixed(2)}x`);
} finally {
  outer.podman(["rm", "-f", "-t", "0", name]);
  outer.stopPause();
  // The stores hold files of subordinate ids: removed from inside a user namespace.
  const { runWorkerJob } = await import("../cli/lib/rootfs/worker-job");
  await runWorkerJob(tmpdir(), { kind: "remove", paths: [dir] }).catch(() => rmSync(dir, { recursive: true, force: true }));
}
