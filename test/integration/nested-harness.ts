import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, REPO } from "./harness";

/** The outer container's root filesystem, built by .ci/nested-image (run by .ci/run before the tests). */
export const NESTED_IMAGE_TAR = process.env.RL_NESTED_IMAGE ?? "/var/tmp/rl-nested-image/rootfs.tar";
export const OUTER_IMAGE = "localhost/rl-nested:test";
/** The outer container's hostname, so that a test can tell it from the one rl gives. */
export const OUTER_HOSTNAME = "outer-box";
/** Paths inside the outer container. */
export const IN_REPO = "/rl/repo";
export const IN_ALPINE = "oci:/rl/shared/oci/alpine-3.20.3:3.20.3";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Rootless podman as this user with its own store, runtime dir and pause process (nothing of the
 * user's own podman is touched), running the image of .ci/nested-image with the rl checkout, the
 * fixtures and the running bun bound read-only, as a CI job or a devcontainer would have them.
 */
export class OuterPodman {
  private readonly env: Record<string, string>;
  constructor(private readonly dir: string) {
    const runtime = join(dir, "xdg");
    mkdirSync(runtime, { recursive: true, mode: 0o700 });
    this.env = { ...(process.env as Record<string, string>), XDG_RUNTIME_DIR: runtime };
  }

  podman(args: string[]): Result {
    const r = Bun.spawnSync([...this.base(), ...args], { env: this.env, stdout: "pipe", stderr: "pipe" });
    return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
  }

  importImage(): void {
    const r = this.podman(["import", NESTED_IMAGE_TAR, OUTER_IMAGE]);
    if (r.code !== 0) throw new Error(`podman import ${NESTED_IMAGE_TAR} failed: ${r.stderr}`);
  }

  /** podman's argv up to the subcommand: this user's private store, runc. */
  private base(): string[] {
    return ["podman", "--root", join(this.dir, "root"), "--runroot", join(this.dir, "run"), "--runtime", "runc", "--storage-driver", "vfs"];
  }

  /**
   * `podman run` options and image for an outer container with podman's defaults plus `flags`, as
   * `user` (tester, uid 1000, unless given), with the checkout, the fixtures and bun bound read-only.
   */
  containerArgs(flags: string[], user = "tester"): string[] {
    return [
      "--hostname", OUTER_HOSTNAME, "--user", user, "-e", "HOME=/home/tester", "-w", IN_REPO,
      "-v", `${REPO}:${IN_REPO}:ro`, "-v", `${realpathSync(FIXTURES)}:/rl/shared:ro`, "-v", `${realpathSync(process.execPath)}:/usr/local/bin/bun:ro`,
      ...flags, OUTER_IMAGE,
    ];
  }

  /** `script` (sh) in a new outer container (see containerArgs); `rl` there is `bun /rl/repo/cli/main.ts`. */
  async run(flags: string[], script: string, user = "tester"): Promise<Result> {
    const argv = [...this.base(), "run", "--rm", ...this.containerArgs(flags, user), "sh", "-c", `rl() { bun ${IN_REPO}/cli/main.ts "$@"; }\n${script}`];
    const p = Bun.spawn(argv, { env: this.env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  }

  /** End podman's pause process (its user namespace holder), which outlives the containers. */
  stopPause(): void {
    const pause = join(this.env.XDG_RUNTIME_DIR!, "libpod/tmp/pause.pid");
    if (!existsSync(pause)) return;
    try {
      process.kill(Number(readFileSync(pause, "utf8")), "SIGKILL");
    } catch {}
  }
}
