import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FIXTURES, REPO } from "./harness";

// The user-mode-linux guest of ../shared/tools/cgroup-vm: a real cgroup v2 with a subtree delegated to
// an unprivileged user (tester, uid 1000, with subordinate ids), where rl's limits can be enforced for
// real. The hosts we test on have hybrid cgroups whose /sys/fs/cgroup must not be touched.

export const CGVM_RUN = resolve(REPO, "../shared/tools/cgroup-vm/run");
const CACHE = process.env.RL_CGVM_DIR ?? "/var/tmp/rl-cgroup-vm";

/** Why the guest cannot boot here (not built: `sudo ../shared/tools/cgroup-vm/build`), or undefined. */
export function cgroupVmMissing(): string | undefined {
  if (!existsSync(CGVM_RUN)) return `${CGVM_RUN} is missing`;
  for (const f of ["linux.uml", "root.img"]) {
    if (!existsSync(join(CACHE, f))) return `the cgroup VM is not built (${join(CACHE, f)} is missing): run ../shared/tools/cgroup-vm/build as root`;
  }
  return undefined;
}

/** The repository and the fixtures as the guest sees them (real paths: hostfs shares directories). */
export const GUEST_REPO = realpathSync(REPO);
export const GUEST_ALPINE = `oci:${realpathSync(FIXTURES)}/oci/alpine-3.20.3:3.20.3`;

/**
 * Boot the guest and run a shell script in it as tester, from the repository (shared read-only: tester
 * is another uid), with `rl` the package's executable (helpers/build/rl: fresh over hostfs too, else it runs the sources). Returns its exit code and output.
 */
export async function inGuest(script: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "rl-cgvm-test-"));
  try {
    chmodSync(dir, 0o755);
    const file = join(dir, "script.sh");
    writeFileSync(file, `set -u\ncd ${GUEST_REPO}\nrl() { ${GUEST_REPO}/helpers/build/rl "$@"; }\n${script}`, { mode: 0o644 });
    const args = [CGVM_RUN, "--timeout", "600", "--share", GUEST_REPO, "--share", realpathSync(FIXTURES), "--share", dir];
    for (const [k, v] of Object.entries(env)) args.push("--env", `${k}=${v}`);
    const p = Bun.spawn([...args, "--", "sh", file], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** KEY=VALUE lines of a guest script's output. */
export function keyValues(out: string): Record<string, string> {
  const kv: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^([a-z_]+)=(.*)$/.exec(line);
    if (m) kv[m[1]!] = m[2]!;
  }
  return kv;
}
