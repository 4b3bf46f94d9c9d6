import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, BUSYBOX, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

// A full disk must not wedge the store: reading commands need no write, commands that free space work.
// On a small file system the test user owns: .ci/setup-host loop-mounts a 64 MiB ext4 there.
const SMALL_DISK = "/var/tmp/rl-small-disk";

const reason = skipReason();
const mounted = existsSync(SMALL_DISK) && statSync(SMALL_DISK).dev !== statSync("/var/tmp").dev;
const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const free = () => {
  const s = statfsSync(SMALL_DISK);
  return s.bavail * s.bsize;
};

/** Write zeros to `file` until the disk is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, "w");
  const chunk = new Uint8Array(64 * 1024);
  try {
    for (let size = chunk.length; size >= 512; ) {
      try {
        writeSync(fd, chunk, 0, size);
      } catch {
        size /= 2;
      }
    }
  } finally {
    closeSync(fd);
  }
}

if (!reason && !mounted) {
  if (process.env.CI === "true") {
    test("disk-full tests need the small disk .ci/setup-host mounts", () => {
      throw new Error(`${SMALL_DISK} is not a mounted file system: run .ci/setup-host as root`);
    });
  } else console.log(`skipping disk-full tests: ${SMALL_DISK} is not mounted (run .ci/setup-host as root)`);
}

describe.skipIf(Boolean(reason) || !mounted)("a full disk", () => {
  const t = makeEnv();
  let store = "";
  let env: Record<string, string> = {};
  const r = (args: string[]) => rl(args, { env });
  const ballast = () => join(SMALL_DISK, `ballast-${process.pid}`);

  const archives: string[] = [];
  const stores: string[] = [];
  beforeAll(() => {
    for (const [image, name] of [[ALPINE, "localhost/a:1"], [BUSYBOX, "localhost/b:1"]]) {
      const archive = join(t.root, `${name!.replace(/\W/g, "-")}.tar`);
      expect(Bun.spawnSync(["skopeo", "copy", "-q", image!, `docker-archive:${archive}:${name}`]).exitCode).toBe(0);
      archives.push(archive);
    }
  });
  /** Each test starts with both images stored (the other test removes them, and the order is not fixed). */
  let n = 0;
  const loadImages = async () => {
    // A store of its own on the small disk (the other test resets its store).
    store = join(SMALL_DISK, `store-${process.pid}-${++n}`);
    env = { ...t.env, RL_ROOT: store };
    stores.push(store);
    for (const archive of archives) expect(await r(["load", "-i", archive])).toMatchObject({ code: 0 });
  };
  // A failed test must not leave the disk full for the next.
  afterEach(() => rmSync(ballast(), { force: true }));
  afterAll(async () => {
    const { runWorkerJob } = await import("../../cli/lib/rootfs/worker-job");
    const left = stores.filter((s) => existsSync(s));
    if (left.length) await runWorkerJob(t.root, { kind: "remove", paths: left });
    await t.cleanup();
  });

  test("filled by a container: listing works, rm frees the space", async () => {
    await loadImages();
    const script = "dd if=/dev/zero of=/big bs=1M; dd if=/dev/zero of=/big2 bs=1k; echo full; sleep 1000";
    const p = Bun.spawn([RL_BIN, "run", "--name", "filler", "--network", "none", "localhost/a:1", "sh", "-c", script], { env, stdout: "pipe", stderr: "pipe" });
    // rl is killed once the container wrote all it could and said so.
    let said = "";
    const reader = p.stdout.getReader();
    while (!said.includes("full")) {
      const { value, done } = await reader.read();
      if (done) break;
      said += new TextDecoder().decode(value);
    }
    expect({ said, stderr: p.exitCode === null ? "" : await new Response(p.stderr).text() }).toEqual({ said: "full\n", stderr: "" });
    const pid = Number((await r(["inspect", "-f", "{{.State.Pid}}", "filler"])).stdout);
    expect(pid).toBeGreaterThan(0);
    p.kill("SIGKILL");
    await p.exited;
    // The container dies with its rl, but not at the same instant (its exit tears down its mounts on a full disk).
    await until("the killed container's process to end", () => !existsSync(`/proc/${pid}`), 200);
    // What the killed processes held may come back: the rest is filled too, as a disk that is full stays.
    fillDisk(ballast());
    expect(free()).toBe(0);
    const ps = await r(["ps", "-a"]);
    expect(ps).toMatchObject({ code: 0, stderr: "" });
    expect(ps.stdout).toMatch(/Exited \(137\).*filler/);
    expect(await r(["images"])).toMatchObject({ code: 0, stderr: "", stdout: expect.stringContaining("localhost/a") });
    expect(await r(["image", "inspect", "localhost/a:1"])).toMatchObject({ code: 0, stderr: "" });
    expect(await r(["system", "df"])).toMatchObject({ code: 0, stderr: "" });
    // What needs room says so in one line.
    for (const args of [["tag", "localhost/a:1", "localhost/a:2"], ["run", "--rm", "--network", "none", "localhost/a:1", "true"]]) {
      const res = await r(args);
      expect(res.code).toBe(125);
      expect(res.stderr).toMatch(/^rl: [^\n]*disk[^\n]* is full[^\n]*\n$/);
    }
    expect(await r(["rm", "filler"])).toMatchObject({ code: 0, stderr: "" });
    rmSync(ballast());
    expect(free()).toBeGreaterThan(30 * 1024 * 1024);
    expect(await r(["run", "--rm", "--network", "none", "localhost/a:1", "true"])).toMatchObject({ code: 0 });
  });

  test("filled by another program: rmi, image prune and system reset still work", async () => {
    await loadImages();
    fillDisk(ballast());
    expect(free()).toBe(0);
    expect(await r(["rmi", "localhost/a:1"])).toMatchObject({ code: 0, stderr: "", stdout: expect.stringContaining("Deleted: ") });
    expect((await r(["images", "--format", "json"])).stdout).not.toContain("localhost/a");
    rmSync(ballast());
    // The reserve is back with the next command that finds room for it.
    expect(await r(["ps"])).toMatchObject({ code: 0 });
    expect(ls(store)).toContain("reserve");
    fillDisk(ballast());
    expect(free()).toBe(0);
    expect(await r(["image", "prune", "-a"])).toMatchObject({ code: 0, stderr: "" });
    expect(await r(["images", "-q"])).toMatchObject({ code: 0, stdout: "" });
    expect(ls(join(store, "layers"))).toEqual([]);
    expect(ls(join(store, "blobs/sha256"))).toEqual([]);
    expect(await r(["system", "reset", "-f"])).toMatchObject({ code: 0, stderr: "" });
    expect(ls(store)).toEqual([]);
    rmSync(ballast());
  });
});
