import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { release, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { HostInfo } from "../../cli/lib/host/info";
import { EXECUTABLE, staleReason } from "../../helpers/executable";
import { prebuiltPath, programPath } from "../../helpers/c-build";
import { existsSync } from "node:fs";
import { RL_BIN } from "./harness";

const MAIN = join(import.meta.dir, "../../cli/main.ts");
const isRoot = process.getuid?.() === 0;
if (isRoot) console.log("skipping rl info integration tests: they need a non-root user (e.g. runuser -u rltest -- bun test ...)");

let dataHome = "";
const env: Record<string, string | undefined> = { ...process.env };

beforeAll(() => {
  if (isRoot) return;
  dataHome = mkdtempSync(join(tmpdir(), "rl-info-test-"));
  env.XDG_DATA_HOME = dataHome;
  delete env.RL_ROOT;
  delete env.RL_RUNROOT;
  delete env.RL_SUBUID_FILE;
  delete env.RL_SUBGID_FILE;
});
afterAll(() => {
  if (dataHome) rmSync(dataHome, { recursive: true, force: true });
});

function rl(...args: string[]) {
  const r = Bun.spawnSync([RL_BIN, ...args], { env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** The current user's ranges, read here independently of rl's parser. */
function rangesIn(file: string): { start: number; count: number }[] {
  const names = [userInfo().username, String(process.getuid!())];
  return readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim().split(":"))
    .filter((f) => f.length === 3 && names.includes(f[0]!))
    .map((f) => ({ start: Number(f[1]), count: Number(f[2]) }))
    .sort((a, b) => a.start - b.start);
}

/** What the host offers, found with the system's own tools, independently of rl's probes. */
function hostFacts() {
  const ok = (argv: string[]) => Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  const dir = mkdtempSync(join(tmpdir(), "rl-info-overlay-"));
  try {
    for (const d of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, d));
    const mount = `mount -t overlay overlay -o lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work,userxattr ${dir}/merged`;
    return {
      userns: ok(["unshare", "--user", "--map-root-user", "true"]),
      overlay: ok(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", mount]),
      setuid: (name: string) => {
        const path = Bun.which(name);
        return path !== null && (statSync(path).mode & 0o4000) !== 0 && statSync(path).uid === 0;
      },
      fuseOverlayfs: Bun.which("fuse-overlayfs") !== null,
      devFuse: openable("/dev/fuse"),
      openable,
      unifiedCgroups: readFileSync("/proc/self/mountinfo", "utf8").split("\n").some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l)),
    };
  } finally {
    // overlayfs leaves its work/work directory mode 000.
    if (existsSync(join(dir, "work/work"))) chmodSync(join(dir, "work/work"), 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
}

function openable(path: string): boolean {
  try {
    closeSync(openSync(path, "r+"));
    return true;
  } catch {
    return false;
  }
}

const byStart = (r: { start: number; count: number }[]) => [...r].sort((a, b) => a.start - b.start);

describe("rl info --format json", () => {
  let info: HostInfo;
  let run: ReturnType<typeof rl>;
  beforeAll(() => {
    if (isRoot) return;
    run = rl("info", "--format", "json");
    info = JSON.parse(run.out);
  });

  test.skipIf(isRoot)("exits 0 with JSON", () => {
    expect(run.code).toBe(0);
    expect(typeof info).toBe("object");
    expect(Object.keys(info)).toEqual(["host", "userNamespaces", "idMapping", "storage", "digest", "network", "cgroups", "paths", "start", "containerStart", "storeLog", "seccomp"]);
  });

  test.skipIf(isRoot)("seccomp: the kernel's actions, and a filter for this architecture", () => {
    expect(info.seccomp.actions).toEqual(readFileSync("/proc/sys/kernel/seccomp/actions_avail", "utf8").trim().split(" "));
    expect(info.seccomp).toMatchObject({ ok: true, arch: process.arch === "x64" ? "x86_64" : "aarch64" });
  });

  test.skipIf(isRoot)("kernel is os.release()", () => {
    expect(info.host.kernel).toBe(release());
  });

  test.skipIf(isRoot)("subordinate ranges are the user's lines in /etc/subuid and /etc/subgid", () => {
    expect(info.idMapping.uid).toBe(process.getuid!());
    expect(byStart(info.idMapping.subuid)).toEqual(rangesIn("/etc/subuid"));
    expect(byStart(info.idMapping.subgid)).toEqual(rangesIn("/etc/subgid"));
  });

  test.skipIf(isRoot)("each check agrees with what the host shows when tried here without rl", () => {
    const host = hostFacts();
    expect(info.userNamespaces.ok).toBe(host.userns);
    expect(info.storage.overlay.ok).toBe(host.overlay);
    expect(info.storage.driver).toBe(host.overlay ? "overlay" : host.fuseOverlayfs && host.devFuse ? "fuse-overlayfs" : "vfs");
    expect(info.idMapping.newuidmap.ok).toBe(host.setuid("newuidmap"));
    expect(info.idMapping.newgidmap.ok).toBe(host.setuid("newgidmap"));
    expect(info.storage.fuseOverlayfs.devFuse.ok).toBe(host.devFuse);
    expect(info.storage.fuseOverlayfs.ok).toBe(host.fuseOverlayfs && host.devFuse);
    expect(info.network.slirp4netns.ok).toBe(Bun.which("slirp4netns") !== null);
    expect(info.network.devNetTun.ok).toBe(host.openable("/dev/net/tun"));
    // Limits need cgroup v2 mounted at /sys/fs/cgroup (not the hybrid layout) and a cgroup the user may write.
    if (!host.unifiedCgroups) expect(info.cgroups.ok).toBe(false);
    for (const c of [info.userNamespaces, info.storage.overlay, info.cgroups, info.network.devNetTun]) {
      if (c.ok) expect(c.reason).toBeNull();
      else expect(c.reason).toBeString();
    }
  });

  test.skipIf(isRoot)("every failed check carries a reason", () => {
    const checks = [
      info.userNamespaces, info.idMapping, info.idMapping.newuidmap, info.idMapping.newgidmap, info.storage.overlay,
      info.storage.fuseOverlayfs, info.storage.fuseOverlayfs.devFuse, info.network.slirp4netns, info.network.devNetTun, info.cgroups,
    ];
    for (const c of checks) {
      expect(typeof c.ok).toBe("boolean");
      if (!c.ok) expect(c.reason).toBeString();
    }
  });

  test.skipIf(isRoot)("paths follow XDG_DATA_HOME", () => {
    expect(info.paths.data).toBe(join(dataHome, "rl"));
  });

  test.skipIf(isRoot)("the overlay probe leaves nothing behind", () => {
    expect(readdirSync(join(dataHome, "rl/tmp"))).toEqual([]);
  });
});

describe("rl info for a user without subordinate ids", () => {
  test.skipIf(isRoot)("reports a partial mapping with a reason; the overlay probe does not depend on it", () => {
    const empty = join(dataHome, "empty-subids");
    writeFileSync(empty, "");
    const withRanges = JSON.parse(rl("info", "--format", "json").out) as HostInfo;
    const r = Bun.spawnSync(["bun", MAIN, "info", "--format", "json"], {
      env: { ...env, RL_SUBUID_FILE: empty, RL_SUBGID_FILE: empty }, stdout: "pipe", stderr: "pipe",
    });
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout.toString()) as HostInfo;
    expect(info.idMapping).toMatchObject({ ok: false, subuid: [], subgid: [] });
    expect(info.idMapping.reason).toContain("no ranges in");
    expect(info.storage.overlay.ok).toBe(withRanges.storage.overlay.ok);
  });
});

describe("rl info", () => {
  test.skipIf(isRoot)("prints grouped key: value lines", () => {
    const r = rl("info");
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines.filter((l) => !l.startsWith(" "))).toEqual(["host:", "user namespaces:", "storage:", "digest:", "network:", "cgroups:", "paths:"]);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  kernel: +${release().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^  kernel overlayfs: +(ok|unavailable: .+)$/));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  storage: +${join(dataHome, "rl")}$`)));
    expect(lines).toContainEqual(expect.stringMatching(/^  sha256 native: +[1-9]\d* MB\/s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^  sha256 wasm: +[1-9]\d* MB\/s$/));
    expect(lines).toContainEqual(expect.stringMatching(/^  sha256 engine: +(native|wasm) \(the faster here\)$/));
  });
  /** The value of `rl info`'s line `key:`, with `extra` in the environment. */
  const infoLine = (key: string, extra: Record<string, string>) => {
    const r = Bun.spawnSync([RL_BIN, "info"], { env: { ...env, ...extra }, stdout: "pipe", stderr: "pipe" });
    return r.stdout.toString().split("\n").find((l) => l.startsWith(`  ${key}:`))?.replace(new RegExp(`^  ${key}: +`), "");
  };
  test.skipIf(isRoot)("says how containers start: the executor program bun install built, else a copy of rl", () => {
    const program = programPath("executor.c");
    expect(infoLine("containers start", {})).toBe(existsSync(program) ? `executor program ${program}` : "a copy of rl (no executor program: bun install builds it when the host has a C compiler)");
    expect(infoLine("containers start", { RL_TINYCC: "1" })).toBe("a copy of rl (RL_TINYCC is set)");
  });
  test.skipIf(isRoot)("says when the store's log is checkpointed: past 512 KiB with the extension bun install built, else at each command's end", () => {
    const extension = prebuiltPath("sqlite-no-checkpoint.c");
    expect(infoLine("store log", {})).toBe(existsSync(extension) ? `checkpointed once past 512 KiB (${extension})` : "checkpointed at each command's end (no SQLite extension: bun install builds it when the host has a C compiler)");
    expect(infoLine("store log", { RL_TINYCC: "1" })).toBe("checkpointed at each command's end (RL_TINYCC is set)");
  });
  test.skipIf(isRoot)("says whether rl runs from its executable or its sources, and why", () => {
    const stale = staleReason();
    const expected = stale ? `sources (the executable is not used: ${stale})` : `executable ${EXECUTABLE}`;
    const line = rl("info").out.split("\n").find((l) => l.startsWith("  rl runs from:"));
    expect(line?.replace(/^  rl runs from: +/, "")).toBe(expected);
    // `bun cli/main.ts` runs the same executable while it is fresh.
    const viaMain = Bun.spawnSync(["bun", MAIN, "info", "--format", "json"], { env, stdout: "pipe", stderr: "pipe" });
    expect((JSON.parse(viaMain.stdout.toString()) as HostInfo).start).toBe(expected);
    // The executable hands over to the sources, which say why.
    const r = Bun.spawnSync([RL_BIN, "info", "--format", "json"], { env: { ...env, RL_FROM_SOURCES: "1" }, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout.toString()) as HostInfo).start).toBe("sources (the executable is not used: RL_FROM_SOURCES is set)");
  });
  test.skipIf(isRoot)("RL_DIGEST_ENGINE picks the engine", () => {
    const r = Bun.spawnSync([RL_BIN, "info", "--format", "json"], { env: { ...env, RL_DIGEST_ENGINE: "wasm" }, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    const info = JSON.parse(r.stdout.toString()) as HostInfo;
    expect(info.digest).toMatchObject({ engine: "wasm", forced: true });
    expect(info.digest.speeds.wasm).toBeGreaterThan(0);
  });
});
