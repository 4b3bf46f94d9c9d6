import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { ALPINE, fetchTcp, freePort, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

// Detached containers (rl run -d): the monitor (helpers/monitor.c) keeps them, their output and their
// network helpers after rl has returned; logs, stop, kill, wait; the state stays true whatever is killed.

const reason = skipReason();
if (reason) console.log(`skipping detached-container tests: ${reason}`);

describe.skipIf(Boolean(reason))("rl run -d", () => {
  const t = makeEnv();
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  const db = () => new Database(join(t.env.RL_ROOT!, "rl.db"), { readonly: true });
  const query = <T>(sql: string, ...args: (string | number)[]): T[] => {
    const d = db();
    try {
      return d.query(sql).all(...args) as T[];
    } finally {
      d.close();
    }
  };
  const alive = (pid: number) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch {
      return false;
    }
  };
  /** The container's first process, its monitor and its network helpers, as recorded. */
  const processesOf = (id: string): number[] => {
    const c = query<{ pid: number | null }>("SELECT pid FROM containers WHERE id = ?", id).map((x) => x.pid);
    const m = query<{ pid: number | null }>("SELECT monitor_pid AS pid FROM containers WHERE id = ?", id).map((x) => x.pid);
    const helpers = query<{ helpers: string }>("SELECT helpers FROM container_networks WHERE container_id = ?", id).flatMap((x) => (JSON.parse(x.helpers) as { pid: number }[]).map((h) => h.pid));
    return [...c, ...m, ...helpers].filter((p): p is number => typeof p === "number");
  };
  const detach = async (args: string[]) => {
    const res = await r(["run", "-d", ...args]);
    expect(res).toMatchObject({ code: 0, stderr: "" });
    expect(res.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    return res.stdout.trim();
  };
  const status = async (name: string) => (await r(["ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Status}}"])).stdout.trim();

  afterAll(async () => {
    const ids = (await r(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await r(["rm", "-f", ...ids]);
    await t.cleanup();
  });

  test("prints the id and returns while the container runs on; its output is in rl logs, each stream to its own", async () => {
    const id = await detach(["--name", "talker", ALPINE, "sh", "-c", "echo out1; echo err1 >&2; printf 'no newline'; sleep 1000"]);
    const pid = Number((await r(["inspect", "-f", "{{.State.Pid}}", "talker"])).stdout);
    expect(alive(pid)).toBe(true);
    expect(await status("talker")).toMatch(/^Up /);
    const logs = await until("the output", async () => {
      const res = await r(["logs", "talker"]);
      return res.stdout.includes("no newline") && res;
    });
    expect(logs).toMatchObject({ code: 0, stdout: "out1\nno newline", stderr: "err1\n" });
    expect((await r(["logs", "--tail", "1", id.slice(0, 12)])).stdout).toBe("no newline");
    const stamped = (await r(["logs", "-t", "talker"])).stdout;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out1\n\d{4}-\d\d-\d\dT[\d:.]+Z no newline$/);
    expect((await r(["logs", "--since", "1h", "talker"])).stdout).toBe("out1\nno newline");
    expect((await r(["logs", "--until", "2000-01-01T00:00:00Z", "talker"])).stdout).toBe("");
    expect(await r(["kill", "talker"])).toMatchObject({ code: 0, stdout: "talker\n" });
    expect(await r(["wait", "talker"])).toMatchObject({ code: 0, stdout: "137\n" });
    expect(alive(pid)).toBe(false);
  });

  test("the exit code, recorded by the monitor: wait prints it, ps shows it", async () => {
    await detach(["--name", "quick", ALPINE, "sh", "-c", "sleep 0.3; exit 3"]);
    expect(await r(["wait", "quick"])).toMatchObject({ code: 0, stdout: "3\n" });
    expect(await status("quick")).toMatch(/^Exited \(3\) /);
    expect(query<{ state: string; exit_code: number }>("SELECT state, exit_code FROM containers WHERE name = 'quick'")).toEqual([{ state: "exited", exit_code: 3 }]);
  });

  test("a workload that ends before rl has handed it to its monitor still has its own exit code and output", async () => {
    const hook = join(t.root, "paused-before-handover");
    const p = Bun.spawn([RL_BIN, "run", "-d", "--name", "instant", "--network", "none", ALPINE, "sh", "-c", "echo at-once; exit 4"], { env: { ...t.env, RL_TEST_PAUSE_BEFORE_HANDOVER: hook }, stdout: "pipe", stderr: "pipe" });
    await until("the pause", () => existsSync(hook) || p.exitCode !== null);
    expect({ paused: existsSync(hook), stderr: p.exitCode === null ? "" : await new Response(p.stderr).text() }).toEqual({ paused: true, stderr: "" });
    const [row] = query<{ pid: number }>("SELECT pid FROM containers WHERE name = ?", "instant");
    await until("the workload to end", () => !alive(row!.pid));
    rmSync(hook);
    expect(await p.exited).toBe(0);
    expect(await r(["wait", "instant"])).toMatchObject({ stdout: "4\n" });
    expect((await r(["logs", "instant"])).stdout).toBe("at-once\n");
    expect((await r(["rm", "instant"])).code).toBe(0);
  });

  test("a container whose monitor has not yet written its exit shows as running, not killed; wait gets the code", async () => {
    await detach(["--name", "slowmon", "--network", "none", ALPINE, "sh", "-c", "sleep 0.5; exit 4"]);
    const [row] = query<{ pid: number; monitor_pid: number }>("SELECT pid, monitor_pid FROM containers WHERE name = ?", "slowmon");
    process.kill(row!.monitor_pid, "SIGSTOP");
    try {
      // The workload ends; its stopped monitor can neither reap it nor write its exit.
      await until("the workload to end", () => !alive(row!.pid));
      expect(await status("slowmon")).toMatch(/^Up /);
    } finally {
      process.kill(row!.monitor_pid, "SIGCONT");
    }
    expect(await r(["wait", "slowmon"])).toMatchObject({ code: 0, stdout: "4\n" });
    expect((await r(["rm", "slowmon"])).code).toBe(0);
  });

  /**
   * A detached container that ends at once, its end not yet recorded: its monitor wrote the exit file and
   * its exit command waits (before recording) while `meanwhile` runs and must not end; then it records.
   */
  const endedUnrecorded = async (name: string, command: string[], meanwhile: string[]) => {
    const hook = join(t.root, `paused-before-cleanup-${name}`);
    const run = await rl(["run", "-d", "--name", name, "--network", "none", ALPINE, ...command], { env: { ...t.env, RL_TEST_PAUSE_BEFORE_CLEANUP: hook } });
    expect(run).toMatchObject({ code: 0, stderr: "" });
    await until("the exit command's pause", () => existsSync(hook));
    const p = Bun.spawn([RL_BIN, ...meanwhile], { env: t.env, stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(400);
    expect(p.exitCode).toBeNull();
    rmSync(hook);
    return p;
  };

  test("rl wait returns once the end is recorded (not when the monitor wrote it): the next command finds it exited", async () => {
    const waiting = await endedUnrecorded("recorded", ["sh", "-c", "exit 3"], ["wait", "recorded"]);
    expect(await waiting.exited).toBe(0);
    expect(await new Response(waiting.stdout).text()).toBe("3\n");
    expect(await r(["kill", "recorded"])).toMatchObject({ code: 125, stderr: "rl: can only kill running containers: recorded is exited\n" });
    expect((await r(["rm", "recorded"])).code).toBe(0);
  });

  test("rl start of a container whose end is still being recorded waits for the record, then starts it", async () => {
    const starting = await endedUnrecorded("again2", ["echo", "ran"], ["start", "again2"]);
    expect({ code: await starting.exited, stderr: await new Response(starting.stderr).text() }).toEqual({ code: 0, stderr: "" });
    expect(await r(["wait", "again2"])).toMatchObject({ stdout: "0\n" });
    // It ran twice: its log goes on across starts.
    expect((await r(["logs", "again2"])).stdout).toBe("ran\nran\n");
    expect((await r(["rm", "again2"])).code).toBe(0);
  });

  test("a foreground container whose workload ended is its rl's to record: a sweep meanwhile leaves it", async () => {
    const hook = join(t.root, "paused-after-exit");
    const p = Bun.spawn([RL_BIN, "run", "--name", "ended", "--network", "none", ALPINE, "sh", "-c", "echo bye; exit 3"], { env: { ...t.env, RL_TEST_PAUSE_AFTER_EXIT: hook }, stdout: "pipe", stderr: "pipe" });
    await until("the pause", () => existsSync(hook) || p.exitCode !== null);
    expect(existsSync(hook)).toBe(true);
    // Its process is gone and not yet recorded: another command's sweep, and ps, leave it running.
    expect(await status("ended")).toMatch(/^Up /);
    rmSync(hook);
    expect(await p.exited).toBe(3);
    expect(await new Response(p.stderr).text()).toBe("");
    expect(await status("ended")).toMatch(/^Exited \(3\) /);
    expect((await r(["rm", "ended"])).code).toBe(0);
  });

  test("--log-opt max-size, max-file: the log rotates as docker's does; rl logs reads the kept files in order", async () => {
    // 200 lines of 41 bytes (each record ~80 bytes with its time and stream): far more than 3 files of 2 kB hold.
    const id = await detach(["--name", "rotating", "--log-opt", "max-size=2k,max-file=3", ALPINE, "sh", "-c", "i=100; while [ $i -lt 300 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz012345; i=$((i+1)); done"]);
    expect(await r(["wait", "rotating"])).toMatchObject({ stdout: "0\n" });
    const dir = join(t.env.RL_ROOT!, "containers", id);
    const logs = readdirSync(dir).filter((n) => n.startsWith("ctr.log")).sort();
    expect(logs).toEqual(["ctr.log", "ctr.log.1", "ctr.log.2"]);
    for (const f of logs) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2000);
    const lines = (await r(["logs", "rotating"])).stdout.trim().split("\n");
    // The newest lines, each once, in order, up to the last.
    expect(lines.length).toBeGreaterThan(30);
    expect(lines.length).toBeLessThan(200);
    expect(lines.at(-1)).toBe("line-299-abcdefghijklmnopqrstuvwxyz012345");
    const numbers = lines.map((l) => Number(/^line-(\d+)-/.exec(l)![1]));
    expect(numbers).toEqual(numbers.map((_, i) => numbers[0]! + i));
    expect((await r(["logs", "--tail", "2", "rotating"])).stdout).toBe("line-298-abcdefghijklmnopqrstuvwxyz012345\nline-299-abcdefghijklmnopqrstuvwxyz012345\n");
    // Followed while it rotates: in order, none twice, to the last line.
    await detach(["--name", "rotating-f", "--log-opt", "max-size=2k", "--log-opt", "max-file=2", ALPINE, "sh", "-c", "i=100; while [ $i -lt 200 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz012345; i=$((i+1)); sleep 0.01; done"]);
    const followed = (await r(["logs", "-f", "rotating-f"])).stdout.trim().split("\n").map((l) => Number(/^line-(\d+)-/.exec(l)![1]));
    expect(followed.at(-1)).toBe(199);
    expect(followed.every((n, i) => i === 0 || n > followed[i - 1]!)).toBe(true);
    for (const bad of ["max-size=big", "max-file=0", "compress=true", "max-size"]) {
      expect(await r(["run", "-d", "--log-opt", bad, ALPINE, "true"])).toMatchObject({ code: 125, stdout: "", stderr: expect.stringMatching(/^rl: (invalid|unsupported) --log-opt/) });
    }
  });

  test("logs -f gets every line once across rotations: a log that starts over (max-file=1), several rotations between two reads", async () => {
    const numbered = (out: string) => out.trim().split("\n").map((l) => Number(/^line-(\d+)-/.exec(l)?.[1]));
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
    // max-size alone keeps one file: it starts over about every 25 lines.
    await detach(["--name", "restarting-log", "--log-opt", "max-size=2k", ALPINE, "sh", "-c", "i=100; while [ $i -lt 180 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz012345; i=$((i+1)); sleep 0.03; done"]);
    expect(numbered((await r(["logs", "-f", "restarting-log"])).stdout)).toEqual(range(100, 180));
    // Bursts of 50 lines (two rotations each, at once); the 5 files kept hold more than a burst.
    await detach(["--name", "bursts", "--log-opt", "max-size=2k,max-file=5", ALPINE, "sh", "-c", "sleep 1; i=100; while [ $i -lt 300 ]; do echo line-$i-abcdefghijklmnopqrstuvwxyz012345; i=$((i+1)); [ $((i % 50)) = 0 ] && sleep 1; done"]);
    expect(numbered((await r(["logs", "-f", "bursts"])).stdout)).toEqual(range(100, 300));
    expect((await r(["rm", "restarting-log", "bursts"])).code).toBe(0);
  });

  test("logs into a reader that stops early (| head) ends quietly, 141 as for SIGPIPE", async () => {
    await detach(["--name", "long-log", ALPINE, "sh", "-c", "seq 100000"]);
    expect(await r(["wait", "long-log"])).toMatchObject({ stdout: "0\n" });
    const head = Bun.spawnSync(["bash", "-c", `"$RL" logs long-log | head -1; echo "\${PIPESTATUS[0]}"`], { env: { ...t.env, RL: RL_BIN }, stdout: "pipe", stderr: "pipe" });
    expect({ stdout: head.stdout.toString(), stderr: head.stderr.toString() }).toEqual({ stdout: "1\n141\n", stderr: "" });
    expect((await r(["rm", "long-log"])).code).toBe(0);
  });

  test("logs -f follows until the container ends", async () => {
    await detach(["--name", "follow", ALPINE, "sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done"]);
    expect(await r(["logs", "-f", "follow"])).toMatchObject({ code: 0, stdout: "line 1\nline 2\nline 3\n", stderr: "" });
  });

  test("stop: the stop signal first (a trap ends with its own code), SIGKILL after the timeout (a PID 1 without a handler)", async () => {
    await detach(["--name", "polite", ALPINE, "sh", "-c", "trap 'echo bye; exit 7' TERM; echo ready; while true; do sleep 0.1; done"]);
    await detach(["--name", "deaf", ALPINE, "sleep", "1000"]);
    await until("the trap", async () => (await r(["logs", "polite"])).stdout === "ready\n");
    expect(await r(["stop", "-t", "1", "polite", "deaf"])).toMatchObject({ code: 0, stderr: "" });
    expect(await r(["wait", "polite", "deaf"])).toMatchObject({ code: 0, stdout: "7\n137\n" });
    expect((await r(["logs", "polite"])).stdout).toBe("ready\nbye\n");
    // Stopping a stopped container is no error (as podman); a missing one is.
    expect(await r(["stop", "polite"])).toMatchObject({ code: 0, stdout: "polite\n" });
    expect(await r(["stop", "nosuch"])).toMatchObject({ code: 125, stderr: "rl: no such container: nosuch\n" });
    expect(await r(["stop", "--ignore", "nosuch"])).toMatchObject({ code: 0, stdout: "" });
  });

  test("kill -s delivers the signal; a stopped container cannot be killed", async () => {
    await detach(["--name", "signalled", ALPINE, "sh", "-c", "trap 'echo usr1' USR1; trap 'exit 5' TERM; echo ready; while true; do sleep 0.1; done"]);
    await until("the traps", async () => (await r(["logs", "signalled"])).stdout === "ready\n");
    expect(await r(["kill", "-s", "USR1", "signalled"])).toMatchObject({ code: 0, stdout: "signalled\n" });
    await until("usr1 in the log", async () => (await r(["logs", "signalled"])).stdout === "ready\nusr1\n");
    expect(await r(["kill", "--signal", "SIGTERM", "signalled"])).toMatchObject({ code: 0 });
    expect(await r(["wait", "signalled"])).toMatchObject({ stdout: "5\n" });
    expect(await r(["kill", "signalled"])).toMatchObject({ code: 125, stderr: "rl: can only kill running containers: signalled is exited\n" });
    expect(await r(["kill", "-s", "NOSUCH", "signalled"])).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid signal "NOSUCH"') });
  });

  test("--rm with -d: the container is removed when it ends", async () => {
    const id = await detach(["--rm", "--name", "gone", ALPINE, "true"]);
    await until("the removal", async () => !(await r(["ps", "-aq", "--no-trunc"])).stdout.includes(id));
    expect(existsSync(join(t.env.RL_ROOT!, "containers", id))).toBe(false);
  });

  test("a published port answers after rl returned; stop frees it and ends every helper", async () => {
    const port = await freePort();
    const id = await detach(["--name", "web", "-p", `127.0.0.1:${port}:8080`, ALPINE, "sh", "-c", "echo hello-from-web > /tmp/i; while true; do nc -l -p 8080 < /tmp/i; done"]);
    const procs = processesOf(id);
    expect(procs.length).toBeGreaterThanOrEqual(3); // container, monitor, slirp4netns, rl-portfwd
    const body = await until("the server", () => fetchTcp(port));
    expect(body).toBe("hello-from-web\n");
    expect(await r(["stop", "-t", "0", "web"])).toMatchObject({ code: 0 });
    await until("every process of the container to end", () => procs.every((p) => !alive(p)));
    await new Promise<void>((resolve, reject) => {
      const s = createServer().once("error", reject).listen(port, "127.0.0.1", () => s.close(() => resolve()));
    });
    expect(await r(["rm", "web"])).toMatchObject({ code: 0 });
  });

  test("rm -f of a detached container ends it, its monitor and its helpers", async () => {
    const id = await detach(["--name", "forced", "-p", `127.0.0.1:${await freePort()}:80`, ALPINE, "sleep", "1000"]);
    const procs = processesOf(id);
    expect(await r(["rm", "-f", "forced"])).toMatchObject({ code: 0, stdout: `${id}\n` });
    await until("every process of the container to end", () => procs.every((p) => !alive(p)));
    expect((await r(["ps", "-aq"])).stdout).not.toContain(id.slice(0, 12));
  });

  test("SIGKILL of the monitor ends the container; it shows as killed, nothing is left", async () => {
    const id = await detach(["--name", "orphan", ALPINE, "sleep", "1000"]);
    const procs = processesOf(id);
    const [monitor] = query<{ pid: number }>("SELECT monitor_pid AS pid FROM containers WHERE id = ?", id);
    process.kill(monitor!.pid, "SIGKILL");
    await until("every process of the container to end", () => procs.every((p) => !alive(p)));
    expect(await status("orphan")).toMatch(/^Exited \(137\) /);
    expect(query<{ state: string }>("SELECT state FROM containers WHERE id = ?", id)).toEqual([{ state: "exited" }]);
  });

  test("SIGKILL of the container's PID 1: the monitor records 137", async () => {
    await detach(["--name", "victim", ALPINE, "sleep", "1000"]);
    process.kill(Number((await r(["inspect", "-f", "{{.State.Pid}}", "victim"])).stdout), "SIGKILL");
    expect(await r(["wait", "victim"])).toMatchObject({ stdout: "137\n" });
  });

  test("rl killed while it starts a detached container: the container does not run on, the next rl removes it", async () => {
    const hook = join(t.root, "paused-before-running");
    const p = Bun.spawn([RL_BIN, "run", "-d", "--name", "halfway", ALPINE, "sleep", "1236"], { env: { ...t.env, RL_TEST_PAUSE_BEFORE_RUNNING: hook }, stdout: "ignore", stderr: "ignore" });
    await until("the pause", () => existsSync(hook) || p.exitCode !== null);
    expect(existsSync(hook)).toBe(true);
    const [row] = query<{ id: string }>("SELECT id FROM containers WHERE name = 'halfway'");
    const monitors = query<{ pid: number }>("SELECT monitor_pid AS pid FROM containers WHERE monitor_pid IS NOT NULL");
    p.kill("SIGKILL");
    await p.exited;
    rmSync(hook, { force: true });
    const sleepers = () => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", "^sleep 1236$"]).stdout.toString().trim();
    await until("the workload to end", () => sleepers() === "");
    await until("the next rl to remove it", async () => !(await r(["ps", "-a", "--format", "{{.Names}}"])).stdout.includes("halfway"));
    expect(existsSync(join(t.env.RL_ROOT!, "containers", row!.id))).toBe(false);
    expect(query("SELECT monitor_pid AS pid FROM containers WHERE monitor_pid IS NOT NULL")).toEqual(monitors);
  });

  test("-dit: a shell on a terminal stays up; --log-driver none keeps no log", async () => {
    await detach(["-it", "--name", "shell", ALPINE, "sh"]);
    // Its prompt, on its terminal: it reads on, not at its end.
    await until("the prompt", async () => (await r(["logs", "shell"])).stdout.includes("/ # "));
    expect(await status("shell")).toMatch(/^Up /);
    await detach(["--log-driver", "none", "--name", "silent", ALPINE, "echo", "x"]);
    expect(await r(["wait", "silent"])).toMatchObject({ stdout: "0\n" });
    expect(await r(["logs", "silent"])).toMatchObject({ code: 125, stderr: expect.stringContaining("container silent has no logs") });
    expect(await r(["stop", "-t", "0", "shell"])).toMatchObject({ code: 0 });
    expect(await r(["run", "-d", "--log-driver", "syslog", ALPINE, "true"])).toMatchObject({ code: 125, stderr: 'rl: unknown log driver "syslog": choose k8s-file or none\n' });
  });

  test("--userns keep-id and nomap: the monitor's child is a copy of it (the executor program would hold no capability there)", async () => {
    await detach(["--name", "keep", "--userns", "keep-id", ALPINE, "id", "-u"]);
    expect(await r(["wait", "keep"])).toMatchObject({ stdout: "0\n" });
    expect((await r(["logs", "keep"])).stdout).toBe(`${process.getuid!()}\n`);
    expect((await r(["inspect", "-f", "{{.LogPath}}", "keep"])).stdout).toMatch(/\/containers\/[0-9a-f]{64}\/ctr\.log\n$/);
  });

  test("--health-cmd: the monitor runs it every interval; State.Health and ps follow it; rl healthcheck run runs it now", async () => {
    await detach(["--name", "checked", "--health-cmd", "test -e /tmp/ok && echo fine", "--health-interval", "200ms", "--health-retries", "2", ALPINE, "sleep", "1000"]);
    const health = async () => JSON.parse((await r(["inspect", "-f", "{{json .State.Health}}", "checked"])).stdout) as { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
    expect((await health()).Status).toMatch(/^(starting|unhealthy)$/);
    await until("unhealthy after 2 failures", async () => (await health()).Status === "unhealthy" && (await status("checked")).endsWith("(unhealthy)"), 150);
    expect((await health()).FailingStreak).toBeGreaterThanOrEqual(2);
    expect(await r(["exec", "checked", "touch", "/tmp/ok"])).toMatchObject({ code: 0 });
    await until("healthy", async () => (await health()).Status === "healthy", 150);
    expect(await status("checked")).toMatch(/^Up .* \(healthy\)$/);
    const h = await health();
    expect(h.FailingStreak).toBe(0);
    expect(h.Log.length).toBeLessThanOrEqual(5);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 0, Output: "fine\n" });
    expect(await r(["healthcheck", "run", "checked"])).toMatchObject({ code: 0, stdout: "" });
    expect(await r(["exec", "checked", "rm", "/tmp/ok"])).toMatchObject({ code: 0 });
    expect(await r(["healthcheck", "run", "checked"])).toMatchObject({ code: 1, stdout: "unhealthy\n" });
    expect(await r(["healthcheck", "run", "talker"])).toMatchObject({ code: 125, stderr: "rl: container talker has no healthcheck (rl run --health-cmd …)\n" });
    expect(await r(["run", "-d", "--health-cmd", "true", "--health-interval", "soon", ALPINE, "true"])).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --health-interval "soon"') });
    // A check that prints 32 MiB: read to its end (its exit code stands), 4096 characters kept.
    await detach(["--name", "chatty", "--health-cmd", "head -c 33554432 /dev/zero | tr '\\0' x", "--health-interval", "1h", ALPINE, "sleep", "1000"]);
    expect(await r(["healthcheck", "run", "chatty"])).toMatchObject({ code: 0, stdout: "" });
    const chatty = JSON.parse((await r(["inspect", "-f", "{{json .State.Health}}", "chatty"])).stdout) as { Log: { ExitCode: number; Output: string }[] };
    expect(chatty.Log.map((l) => [l.ExitCode, l.Output])).toEqual([[0, "x".repeat(4096)]]);
    expect(await r(["stop", "-t", "0", "chatty", "checked"])).toMatchObject({ code: 0 });
    expect(await r(["healthcheck", "run", "checked"])).toMatchObject({ code: 125, stderr: "rl: container checked is not running\n" });
  });

  test("a healthcheck that leaves a process holding its output: its result is recorded (by its exit, or its timeout), and the next check runs", async () => {
    type Health = { Status: string; FailingStreak: number; Log: { ExitCode: number; Output: string }[] };
    const health = async (name: string) => JSON.parse((await r(["inspect", "-f", "{{json .State.Health}}", name])).stdout) as Health;
    await detach(["--name", "hung-check", "--health-cmd", "sleep 1000 & sleep 1000", "--health-timeout", "1s", "--health-interval", "1s", "--health-retries", "2", ALPINE, "sleep", "1000"]);
    await detach(["--name", "left-check", "--health-cmd", "sleep 1000 & echo ok", "--health-timeout", "1s", "--health-interval", "1h", ALPINE, "sleep", "1000"]);
    const hung = await until("two timeouts", async () => {
      const h = await health("hung-check");
      return h.Log.length >= 2 && h;
    }, 150);
    expect(hung.Status).toBe("unhealthy");
    expect(hung.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(hung.Log[0]).toMatchObject({ ExitCode: -1, Output: "Health check exceeded timeout (1000 ms)" });
    expect(await r(["healthcheck", "run", "left-check"])).toMatchObject({ code: 0, stdout: "" });
    expect((await health("left-check")).Log.at(-1)).toMatchObject({ ExitCode: 0, Output: "ok\n" });
    expect((await r(["rm", "-f", "hung-check", "left-check"])).code).toBe(0);
  });

  test("20 started side by side from separate processes: all run, all stop and go; the store is sound", async () => {
    const names = Array.from({ length: 20 }, (_, i) => `par${i}`);
    const started = await Promise.all(names.map((n) => r(["run", "-d", "--name", n, "--network", "none", ALPINE, "sleep", "1000"])));
    expect(started.map((s) => s.code)).toEqual(names.map(() => 0));
    const ids = started.map((s) => s.stdout.trim());
    const procs = ids.flatMap(processesOf);
    const up = (await r(["ps", "--format", "{{.Names}}"])).stdout.split("\n");
    for (const n of names) expect(up).toContain(n);
    const stopped = await Promise.all(names.map((n) => r(["stop", "-t", "0", n])));
    expect(stopped.map((s) => s.code)).toEqual(names.map(() => 0));
    expect((await r(["rm", ...names])).code).toBe(0);
    await until("every process to end", () => procs.every((p) => !alive(p)));
    expect(query("PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    for (const id of ids) expect(existsSync(join(t.env.RL_ROOT!, "containers", id))).toBe(false);
  });
});
