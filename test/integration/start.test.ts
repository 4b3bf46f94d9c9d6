import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { ALPINE, fetchTcp, freePort, makeEnv, rl, skipReason, until } from "./harness";

// rl create, rl start, rl restart: a stopped container runs again with the options it was made with,
// its own files, the same volumes (anonymous ones too) and its published ports.

const reason = skipReason();
if (reason) console.log(`skipping start tests: ${reason}`);

describe.skipIf(Boolean(reason))("rl create, start, restart", () => {
  const t = makeEnv();
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  const db = (readonly = true) => new Database(join(t.env.RL_ROOT!, "rl.db"), { readonly });
  const row = (name: string) => {
    const d = db();
    try {
      return d.query("SELECT id, state, pid, exit_code FROM containers WHERE name = ?").get(name) as { id: string; state: string; pid: number | null; exit_code: number | null } | null;
    } finally {
      d.close();
    }
  };
  const status = async (name: string) => (await r(["ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Status}}"])).stdout.trim();
  const volumes = async () => (await r(["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean).sort();

  afterAll(async () => {
    const ids = (await r(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await r(["rm", "-f", "-v", ...ids]);
    await t.cleanup();
  });

  test("stop then start: the same container, its files, its volumes (the anonymous one too) and its port; the log goes on", async () => {
    const port = await freePort();
    const script = "echo boot >> /root/boots; echo boot >> /data/boots; echo boot >> /anon/boots; echo boots $(wc -l < /root/boots) $(wc -l < /data/boots) $(wc -l < /anon/boots); while true; do nc -l -p 80 < /root/boots; done";
    const run = await r(["run", "-d", "--name", "again", "-v", "keep:/data", "-v", "/anon", "-p", `127.0.0.1:${port}:80`, ALPINE, "sh", "-c", script]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const id = run.stdout.trim();
    await until("the first boot", async () => (await r(["logs", "again"])).stdout === "boots 1 1 1\n");
    const vols = await volumes();
    expect(vols.length).toBe(2);
    const firstPid = row("again")!.pid;
    expect(await r(["stop", "-t", "0", "again"])).toMatchObject({ code: 0 });
    expect(await status("again")).toMatch(/^Exited \(137\)/);
    expect(await r(["start", "again"])).toMatchObject({ code: 0, stdout: "again\n", stderr: "" });
    await until("the second boot", async () => (await r(["logs", "again"])).stdout === "boots 1 1 1\nboots 2 2 2\n");
    expect(row("again")).toMatchObject({ id, state: "running" });
    expect(row("again")!.pid).not.toBe(firstPid);
    expect(await volumes()).toEqual(vols);
    expect(await until("the port", () => fetchTcp(port))).toBe("boot\nboot\n");
    expect(await status("again")).toMatch(/^Up /);
    // Started while it runs: nothing to do (as podman). (start -a attaches to it then: see attach.test.ts.)
    expect(await r(["start", "again"])).toMatchObject({ code: 0, stdout: "again\n" });
  });

  test("restart: stopped and started again in the background, a new first process", async () => {
    const before = row("again")!.pid;
    expect(await r(["restart", "-t", "0", "again"])).toMatchObject({ code: 0, stdout: "again\n", stderr: "" });
    await until("the third boot", async () => (await r(["logs", "--tail", "1", "again"])).stdout === "boots 3 3 3\n");
    expect(row("again")!.state).toBe("running");
    expect(row("again")!.pid).not.toBe(before);
  });

  test("create records a container without running it; it outlives the sweep; start -a runs it attached with its exit code", async () => {
    const made = await r(["create", "--name", "later", "-e", "GREETING=hi", ALPINE, "sh", "-c", "echo $GREETING from $(hostname); exit 3"]);
    expect(made).toMatchObject({ code: 0, stderr: "" });
    expect(made.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await status("later")).toBe("Created");
    expect(row("later")).toMatchObject({ state: "created", pid: null });
    // It has written nothing yet: its logs are empty, as docker's and podman's (-f too: it is not running).
    expect(await r(["logs", "later"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await r(["logs", "-f", "later"])).toEqual({ code: 0, stdout: "", stderr: "" });
    // Older than the minute a record without a process gets from the sweep: kept all the same.
    const d = db(false);
    d.query("UPDATE containers SET created = created - 600000 WHERE name = 'later'").run();
    d.close();
    expect((await r(["ps", "-a", "--format", "{{.Names}}"])).stdout).toContain("later");
    const attached = await r(["start", "-a", "later"]);
    expect(attached).toMatchObject({ code: 3, stderr: "" });
    expect(attached.stdout).toMatch(/^hi from [0-9a-f]{12}\n$/);
    expect(await status("later")).toMatch(/^Exited \(3\)/);
    // And once more in the background: its exit code waited for.
    expect(await r(["start", "later"])).toMatchObject({ code: 0, stdout: "later\n" });
    expect(await r(["wait", "later"])).toMatchObject({ stdout: "3\n" });
  });

  test("with the vfs driver: created, started (its tree made then), changed, started again (its changes kept)", async () => {
    expect(await r(["create", "--name", "flat", "--storage-driver", "vfs", "--network", "none", ALPINE, "sh", "-c", "cat /etc/alpine-release; echo run >> /runs; wc -l < /runs"])).toMatchObject({ code: 0 });
    expect(await r(["start", "-a", "flat"])).toMatchObject({ code: 0, stdout: "3.20.3\n1\n" });
    expect(await r(["start", "-a", "flat"])).toMatchObject({ code: 0, stdout: "3.20.3\n2\n" });
  });

  test("a start that fails leaves the container stopped, and a later start works", async () => {
    const port = await freePort();
    expect(await r(["create", "--name", "blocked", "-p", `127.0.0.1:${port}:80`, ALPINE, "sleep", "1000"])).toMatchObject({ code: 0 });
    const holder: Server = await new Promise((resolve) => {
      const s = createServer().listen(port, "127.0.0.1", () => resolve(s));
    });
    try {
      expect(await r(["start", "blocked"])).toMatchObject({ code: 125, stderr: `rl: cannot publish port 127.0.0.1:${port}/tcp: the address is already in use\n` });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(row("blocked")!.state).not.toBe("running");
    expect(await r(["start", "blocked"])).toMatchObject({ code: 0, stdout: "blocked\n" });
    expect(await status("blocked")).toMatch(/^Up /);
  });

  test("--restart on-failure:2: a failing container runs three times in all, then stays exited; inspect shows the policy and count", async () => {
    expect(await r(["run", "-d", "--name", "flaky", "--restart", "on-failure:2", ALPINE, "sh", "-c", "echo try; exit 4"])).toMatchObject({ code: 0 });
    await until("three tries", async () => (await r(["logs", "flaky"])).stdout === "try\ntry\ntry\n" && (await status("flaky")).startsWith("Exited (4)"), 150);
    await Bun.sleep(1000); // no fourth
    expect((await r(["logs", "flaky"])).stdout).toBe("try\ntry\ntry\n");
    expect(await status("flaky")).toMatch(/^Exited \(4\)/);
    expect((await r(["inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.RestartCount}}", "flaky"])).stdout).toBe("on-failure:2 2\n");
    // A success ends on-failure's restarts at once.
    expect(await r(["run", "-d", "--name", "fine", "--restart", "on-failure", ALPINE, "echo", "ok"])).toMatchObject({ code: 0 });
    expect(await r(["wait", "fine"])).toMatchObject({ stdout: "0\n" });
    await Bun.sleep(500);
    expect((await r(["logs", "fine"])).stdout).toBe("ok\n");
  });

  test("--restart always: started again after it ends (or is killed); rl stop leaves it stopped", async () => {
    expect(await r(["run", "-d", "--name", "phoenix", "--restart", "always", ALPINE, "sh", "-c", "echo up; sleep 1000"])).toMatchObject({ code: 0 });
    await until("the first run", async () => (await r(["logs", "phoenix"])).stdout === "up\n");
    expect(await r(["kill", "phoenix"])).toMatchObject({ code: 0 });
    await until("the second run", async () => (await r(["logs", "phoenix"])).stdout === "up\nup\n" && (await status("phoenix")).startsWith("Up "));
    expect(await r(["stop", "-t", "0", "phoenix"])).toMatchObject({ code: 0 });
    await Bun.sleep(1000);
    expect(await status("phoenix")).toMatch(/^Exited \(137\)/);
    expect((await r(["logs", "phoenix"])).stdout).toBe("up\nup\n");
    // A start by the user counts afresh, and the policy holds again.
    expect(await r(["start", "phoenix"])).toMatchObject({ code: 0 });
    await until("the third run", async () => (await r(["logs", "phoenix"])).stdout === "up\nup\nup\n");
    expect((await r(["inspect", "-f", "{{.RestartCount}}", "phoenix"])).stdout).toBe("0\n");
    expect(await r(["kill", "phoenix"])).toMatchObject({ code: 0 });
    await until("the fourth run", async () => (await r(["logs", "phoenix"])).stdout === "up\nup\nup\nup\n");
    expect(await r(["rm", "-f", "phoenix"])).toMatchObject({ code: 0 });
  });

  test("rl stop (and stop -a) of a container waiting out its restart back-off: it stays stopped", async () => {
    for (const [name, stop] of [["looping", ["stop", "-t", "0", "looping"]], ["looping-all", ["stop", "-t", "0", "-a"]]] as const) {
      expect(await r(["run", "-d", "--name", name, "--restart", "always", ALPINE, "sh", "-c", "echo up; exit 3"])).toMatchObject({ code: 0 });
      // After the fourth run the back-off is 800 ms: most of the time it is exited, its restart to come.
      await until("the fourth run to end", async () => (await r(["logs", name])).stdout === "up\nup\nup\nup\n" && (await status(name)).startsWith("Exited (3)"), 150);
      expect(await r([...stop])).toMatchObject({ code: 0, stderr: "" });
      const count = (await r(["inspect", "-f", "{{.RestartCount}}", name])).stdout;
      await Bun.sleep(2500); // past the back-off: no fifth run
      expect((await r(["logs", name])).stdout).toBe("up\nup\nup\nup\n");
      expect(await status(name)).toMatch(/^Exited \(3\)/);
      expect((await r(["inspect", "-f", "{{.RestartCount}}", name])).stdout).toBe(count);
      expect(await r(["rm", name])).toMatchObject({ code: 0 });
    }
  });

  test("errors: one line, exit 125, nothing made", async () => {
    expect(await r(["run", "-d", "--rm", "--restart", "always", ALPINE, "true"])).toMatchObject({ code: 125, stderr: "rl: --rm and --restart always cannot be combined: a container removed when it ends cannot be started again\n" });
    expect(await r(["run", "-d", "--restart", "sometimes", ALPINE, "true"])).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --restart "sometimes"') });
    const before = (await r(["ps", "-aq"])).stdout;
    expect(await r(["start", "nosuch"])).toMatchObject({ code: 125, stderr: "rl: no such container: nosuch\n" });
    expect(await r(["start", "-a", "again", "later"])).toMatchObject({ code: 125, stderr: "rl: start -a attaches to one container: name only one\n" });
    expect(await r(["create", "-v", "/tmp:/proc/sys", ALPINE, "true"])).toMatchObject({ code: 125, stdout: "" });
    expect(await r(["create", "--name", "again", ALPINE, "true"])).toMatchObject({ code: 125, stderr: expect.stringContaining('the container name "again" is already in use') });
    expect(await r(["restart"])).toMatchObject({ code: 125 });
    expect((await r(["ps", "-aq"])).stdout).toBe(before);
    expect(existsSync(join(t.env.RL_ROOT!, "rl.db"))).toBe(true);
  });
});
