/** What the side-by-side benchmarks share: their options, timing a command with its peak memory, medians. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The value after `name` in the script's arguments, or `def`. */
export function option(name: string, def: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1]! : def;
}

export interface Sample {
  ms: number;
  /** Peak RSS of the largest process of the command's tree (GNU time's %M). */
  rssKiB: number;
}

/** Run `argv` to its end under /usr/bin/time (its report goes to `rssFile`); throws when it fails. */
export function timed(argv: string[], rssFile: string, env: Record<string, string> = process.env as Record<string, string>): Sample {
  const t0 = performance.now();
  const r = Bun.spawnSync(["/usr/bin/time", "-o", rssFile, "-f", "%M", ...argv], { env, stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  return { ms, rssKiB: Number(readFileSync(rssFile, "utf8").trim().split("\n").pop()) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** podman leaves its rootless pause process for a private runtime dir (XDG_RUNTIME_DIR): end it, the benchmark started it. */
export function endPodmanPause(xdgRuntimeDir: string): void {
  const pause = join(xdgRuntimeDir, "libpod/tmp/pause.pid");
  if (!existsSync(pause)) return;
  try {
    process.kill(Number(readFileSync(pause, "utf8")), "SIGKILL");
  } catch {}
}

/** Run `argv` to its end and return its stdout; throws with the end of its stderr when it fails. */
export function must(argv: string[], env: Record<string, string>): string {
  const r = Bun.spawnSync(argv, { env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} failed (${r.exitCode}): ${r.stderr.toString().slice(-2000)}`);
  return r.stdout.toString();
}
