/**
 * What the benchmarks that need a delegated cgroup v2 share: they run in the user-mode-linux guest of
 * ../shared/tools/cgroup-vm. Started on the host, a script boots the guest with the repository and the
 * fixtures shared and runs itself there (RL_CGVM=1), where `inGuest` runs.
 */
import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";

export const REPO = realpathSync(resolve(import.meta.dir, ".."));
// In the guest ../shared is not there: the host passes the real path of the fixtures it shares.
const FIXTURES = process.env.RL_BENCH_FIXTURES ?? realpathSync(resolve(REPO, "../shared/fixtures"));
export const BUSYBOX = `oci:${FIXTURES}/oci/busybox-1.38.0-musl-amd64`;
const CGVM_RUN = resolve(REPO, "../shared/tools/cgroup-vm/run");

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export function which(cmd: string): string | null {
  const r = Bun.spawnSync(["sh", "-c", `command -v ${cmd}`]);
  return r.exitCode === 0 ? r.stdout.toString().trim() : null;
}

/** In the guest: `inGuest()`. On the host: boot the guest and run `script` (this file's caller) there with `argv`. */
export async function inCgroupVm(script: string, argv: string[], inGuest: () => Promise<void> | void): Promise<void> {
  if (process.env.RL_CGVM === "1") return void (await inGuest());
  if (!existsSync(CGVM_RUN)) throw new Error(`${CGVM_RUN} is missing`);
  const p = Bun.spawnSync([CGVM_RUN, "--share", REPO, "--share", FIXTURES, "--env", `RL_BENCH_FIXTURES=${FIXTURES}`, "--", "bun", script, ...argv], { stdout: "inherit", stderr: "inherit" });
  process.exit(p.exitCode ?? 1);
}
