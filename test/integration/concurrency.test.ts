import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { BUSYBOX, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

// Two rl commands at once on one store, each stopped by a test pause at the point where the other one
// must find it: the window a real race hits now and then, made certain.

const reason = skipReason();
const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe.skipIf(Boolean(reason))("two commands at once on one store", () => {
  const t = makeEnv();
  const r = (args: string[]) => rl(args, { env: t.env });
  const started: Bun.Subprocess[] = [];
  afterEach(async () => {
    for (const f of ls(t.root).filter((n) => n.startsWith("hook-"))) rmSync(join(t.root, f), { force: true });
    for (const p of started.splice(0)) await p.exited;
    await r(["rm", "-a", "-f"]);
  });
  afterAll(async () => {
    await rl(["system", "reset", "-f"], { env: t.env });
    await t.cleanup();
  }, 120_000);

  /** `rl ARGS` stopped at test pause `hook` (its file in the test's root); fails the test if it ends before. */
  async function paused(args: string[], hook: string) {
    const file = join(t.root, `hook-${hook}`);
    const p = Bun.spawn([RL_BIN, ...args], { env: { ...t.env, [hook]: file }, stdout: "pipe", stderr: "pipe" });
    started.push(p);
    await until(`${hook} of rl ${args[0]}`, () => existsSync(file) || p.exitCode !== null, 300);
    expect({ paused: existsSync(file), exit: p.exitCode }).toEqual({ paused: true, exit: null });
    return {
      async resume() {
        rmSync(file);
        const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
        return { code, stdout, stderr };
      },
    };
  }

  /** A copy of busybox under its own name: its id. */
  async function image(name: string): Promise<string> {
    expect(await r(["run", "--rm", "--network", "none", BUSYBOX, "true"])).toMatchObject({ code: 0 });
    const id = (await r(["images", "-q", "--no-trunc"])).stdout.trim().split("\n")[0]!;
    expect(await r(["tag", id, name])).toMatchObject({ code: 0 });
    return id;
  }

  const integrity = () => {
    const d = new Database(join(t.env.RL_ROOT!, "rl.db"), { readonly: true });
    try {
      return d.query("PRAGMA integrity_check").get();
    } finally {
      d.close();
    }
  };
  /** Nothing half-done left: no container, no container directory, nothing in tmp/, an intact database. */
  async function nothingLeft() {
    expect((await r(["ps", "-a", "-q"])).stdout).toBe("");
    expect({ containers: ls(join(t.env.RL_ROOT!, "containers")), tmp: ls(join(t.env.RL_ROOT!, "tmp")), db: integrity() }).toEqual({ containers: [], tmp: [], db: { integrity_check: "ok" } });
  }

  test("rmi while rl run of that image has found it but not yet recorded its container: the run fails saying so, nothing is left", async () => {
    await image("localhost/gone:1");
    const run = await paused(["run", "--rm", "--network", "none", "--pull", "never", "localhost/gone:1", "cat", "/bin/busybox"], "RL_TEST_PAUSE_BEFORE_INSERT");
    expect(await r(["rmi", "localhost/gone:1"])).toMatchObject({ code: 0 });
    const out = await run.resume();
    // Not a container started on layers being deleted (fuse-overlayfs's or the kernel's ENOENT).
    expect(out).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot create container \S+: its image [0-9a-f]{12} was removed meanwhile/m) });
    await nothingLeft();
    expect(ls(join(t.env.RL_ROOT!, "layers"))).toEqual([]);
  }, 120_000);

  test("rl run while rmi has checked that no container uses the image: rmi fails saying so, the container keeps its image", async () => {
    const id = await image("localhost/kept:1");
    const rmi = await paused(["rmi", "localhost/kept:1"], "RL_TEST_PAUSE_BEFORE_IMAGE_DELETE");
    expect(await r(["run", "-d", "--name", "user", "--network", "none", "--pull", "never", "localhost/kept:1", "sleep", "1240"])).toMatchObject({ code: 0 });
    expect(await rmi.resume()).toMatchObject({ code: 125, stderr: "rl: cannot remove image localhost/kept:1: container user started to use it meanwhile; remove the container first (rl rm), or use rmi -f\n" });
    expect((await r(["images", "-q", "--no-trunc"])).stdout).toContain(id);
    expect(await r(["exec", "user", "cat", "/bin/busybox"])).toMatchObject({ code: 0 });
    expect(await r(["rm", "-f", "user"])).toMatchObject({ code: 0 });
    await nothingLeft();
  }, 120_000);

  for (const mode of [["-d"], ["--rm"]]) {
    test(`rm -f while rl run ${mode[0]} is starting the container: rm removes it, the run says it was removed, nothing runs on (rm alone refuses)`, async () => {
      const run = await paused(["run", ...mode, "--name", "starting", "--network", "none", BUSYBOX, "sleep", "1241"], "RL_TEST_PAUSE_BEFORE_RUNNING");
      // Its record names the starting rl as its process: rm without -f treats it as running.
      expect(await r(["rm", "starting"])).toMatchObject({ code: 2, stderr: "rl: cannot remove container starting: it is being started by another rl (stop it first, or use rm -f)\n" });
      const rm = await r(["rm", "-f", "starting"]);
      expect(rm).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
      // Not an ENOENT of a file rm took away, nor a detached container running on without a record.
      expect(await run.resume()).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot start container starting: it was removed meanwhile/m) });
      const sleepers = () => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", "^sleep 1241$"]).stdout.toString().trim();
      await until("the workload to end", () => sleepers() === "");
      await nothingLeft();
    }, 120_000);
  }
});
