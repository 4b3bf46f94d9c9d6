import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { ALPINE, RL_BIN, makeEnv, rl, skipReason, until } from "./harness";

// rl attach, --detach-keys (run -it, start -a, attach), run -a: a container under its monitor is
// attached to through the monitor's socket, detached from, and attached to again.

const reason = skipReason() ?? (Bun.which("script") ? undefined : "needs script (util-linux)");
if (reason) console.log(`skipping attach tests: ${reason}`);

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe.skipIf(Boolean(reason))("rl attach and detaching", () => {
  const t = makeEnv();
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  const status = async (name: string) => (await r(["ps", "-a", "--filter", `name=^${name}$`, "--format", "{{.Status}}"])).stdout.trim();
  const started: { kill(): void }[] = [];

  /** rl in a terminal of its own (script(1)), typed into as a user would, its screen read as it comes. */
  function terminal(args: string[], o: { size?: [number, number] } = {}) {
    const line = [RL_BIN, ...args].map(quote).join(" ");
    const sized = o.size ? `stty rows ${o.size[0]} cols ${o.size[1]}; ${line}` : line;
    const p = Bun.spawn(["script", "-qec", sized, "/dev/null"], { env: t.env, stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    started.push(p);
    let screen = "";
    const reading = (async () => {
      for await (const chunk of p.stdout) screen += new TextDecoder().decode(chunk);
    })();
    return {
      type(text: string) {
        p.stdin.write(text);
        p.stdin.flush();
      },
      screen: () => screen,
      shows: (text: string) => until(`${JSON.stringify(text)} on the terminal (it shows ${JSON.stringify(screen)})`, () => screen.replaceAll("\r\n", "\n").includes(text)),
      async exit() {
        const code = await p.exited;
        await reading;
        return code;
      },
    };
  }

  afterAll(async () => {
    for (const p of started) p.kill();
    const ids = (await r(["ps", "-aq", "--no-trunc"])).stdout.split("\n").filter(Boolean);
    if (ids.length) await r(["rm", "-f", ...ids]);
    await t.cleanup();
  });

  test("run -it: Ctrl-P Ctrl-Q detaches and leaves it running; attach comes back to the same shell; its exit code ends attach", async () => {
    const term = terminal(["run", "-it", "--name", "shell", ALPINE, "sh"]);
    term.type("echo one-$((40+2))\n");
    await term.shows("one-42");
    term.type("\x10\x11");
    expect(await term.exit()).toBe(0);
    expect(await status("shell")).toMatch(/^Up /);
    // The same shell: a variable set before the detach is there.
    const again = terminal(["attach", "shell"]);
    again.type("echo two-$((6*7)) $PPID\n");
    await again.shows("two-42 0");
    again.type("exit 5\n");
    expect(await again.exit()).toBe(5);
    await until("the exit recorded", async () => (await status("shell")).startsWith("Exited (5)"));
  });

  test("--detach-keys of one's own; the default keys then reach the container", async () => {
    const term = terminal(["run", "-it", "--rm", "--name", "keys", "--detach-keys", "ctrl-a,d", ALPINE, "sh", "-c", "od -An -tx1 -w1 -v"]);
    // A line through first: rl's terminal is raw from then on (keys typed before could reach the outer terminal's line discipline).
    term.type("a\n");
    await term.shows(" 61");
    term.type("\x10\x11\x01d");
    expect(await term.exit()).toBe(0);
    // Ctrl-P went through (od prints it once its line is done; the pty's flow control takes Ctrl-Q), Ctrl-A d did not.
    const back = terminal(["attach", "--detach-keys", "", "keys"]);
    back.type("z\n");
    await back.shows(" 10");
    await back.shows(" 7a");
    // Once a line went through, rl's terminal is raw: Ctrl-D goes to the container's (its EOF), not to rl's stdin.
    back.type("\x04");
    expect(await back.exit()).toBe(0);
    expect(back.screen()).not.toMatch(/ 01| 64/);
    // --rm: removed once it ended.
    await until("keys removed", async () => (await r(["ps", "-aq", "--filter", "name=^keys$"])).stdout === "");
  });

  test("-t without -i: attach shows its terminal, sized as the user's; input is not sent", async () => {
    expect(await r(["run", "-dt", "--name", "sized", ALPINE, "sh", "-c", "while true; do stty size; sleep 0.2; done"])).toMatchObject({ code: 0 });
    const term = terminal(["attach", "sized"], { size: [33, 101] });
    await term.shows("33 101");
    expect(await r(["kill", "sized"])).toMatchObject({ code: 0 });
    expect(await term.exit()).toBe(137);
  });

  test("attach without -t: stdout and stderr apart, stdin to the container, EOF closes it, its exit code", async () => {
    const run = await r(["run", "-di", "--name", "reader", ALPINE, "sh", "-c", "while read l; do echo got $l; echo err $l >&2; done; echo eof; exit 4"]);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    const attached = await r(["attach", "reader"], "a\nb\n");
    expect(attached).toEqual({ code: 4, stdout: "got a\ngot b\neof\n", stderr: "err a\nerr b\n" });
    // What it wrote is in its log too.
    expect((await r(["logs", "reader"])).stdout).toBe("got a\ngot b\neof\n");
  });

  test("input a container does not read yet does not stall its monitor: its output is logged meanwhile; the input goes in once it reads", async () => {
    expect(await r(["run", "-di", "--name", "slowreader", ALPINE, "sh", "-c", "i=0; while [ $i -lt 20 ]; do echo tick; i=$((i+1)); sleep 0.2; done; wc -c"])).toMatchObject({ code: 0 });
    // 1 MiB: far beyond what its stdin pipe holds.
    const input = new TextEncoder().encode(`${"x".repeat(1 << 20)}\n`);
    const p = Bun.spawn([RL_BIN, "attach", "slowreader"], { env: t.env, stdin: input, stdout: "pipe", stderr: "pipe" });
    started.push(p);
    const ticks = async () => ((await r(["logs", "slowreader"])).stdout.match(/^tick$/gm) ?? []).length;
    // Logged while it still ticks (a monitor blocked on its stdin would log nothing until it reads, then all 20 at once).
    await until("ticks logged while the input waits", async () => {
      const n = await ticks();
      return n >= 5 && n < 20;
    });
    expect(await p.exited).toBe(0);
    expect((await new Response(p.stdout).text()).trim().split("\n").at(-1)).toBe(String(input.length));
  });

  test("two clients see the same output; a signal to rl attach goes to the container (not with --sig-proxy=false)", async () => {
    expect(await r(["run", "-d", "--name", "ticker", ALPINE, "sh", "-c", "trap 'echo term; exit 9' TERM; while true; do echo tick; sleep 0.2; done"])).toMatchObject({ code: 0 });
    const attach = (flag: string) => {
      const p = Bun.spawn([RL_BIN, "attach", flag, "ticker"], { env: t.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      started.push(p);
      const out = { text: "" };
      const reading = (async () => {
        for await (const chunk of p.stdout) out.text += new TextDecoder().decode(chunk);
      })();
      return { p, out, reading };
    };
    const one = attach("--no-stdin");
    const two = attach("--sig-proxy=false");
    await until("both attached", () => one.out.text.includes("tick") && two.out.text.includes("tick"));
    two.p.kill("SIGTERM"); // not passed on: that rl ends, the container does not
    expect(await two.p.exited).not.toBe(9);
    expect(await status("ticker")).toMatch(/^Up /);
    one.p.kill("SIGTERM");
    expect(await one.p.exited).toBe(9);
    await one.reading;
    expect(one.out.text).toEndWith("tick\nterm\n");
  });

  /** A connection to a container's attach socket, and how many bytes its monitor has sent on it. */
  const client = async (id: string) => {
    const s: Socket = connect(join(t.env.RL_RUNROOT!, id, "attach"));
    const seen = { bytes: 0 };
    s.on("data", (d) => (seen.bytes += d.length));
    s.on("error", () => {});
    await new Promise((resolve) => s.once("connect", resolve));
    return { s, seen };
  };
  const inspect = async (name: string, format: string) => (await r(["inspect", "-f", format, name])).stdout.trim();
  /** A process's parent: a detached container's first process is its monitor's child. */
  const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);

  test("a client that leaves while another connects does not stall the monitor: the newcomer gets the output", async () => {
    expect(await r(["run", "-d", "--name", "handover", ALPINE, "sh", "-c", "while true; do echo tick; sleep 0.1; done"])).toMatchObject({ code: 0 });
    const id = await inspect("handover", "{{.Id}}");
    const monitor = parentOf(Number(await inspect("handover", "{{.State.Pid}}")));
    const first = await client(id);
    await until("output to the first client", () => first.seen.bytes > 0);
    // While the monitor is stopped: the first client goes, a second comes, the container writes. The
    // monitor then sees all three at once (it used to read the newcomer, which took the leaver's
    // descriptor number, in the leaver's place: a blocking read of a client that had sent nothing).
    process.kill(monitor, "SIGSTOP");
    let second: Awaited<ReturnType<typeof client>> | undefined;
    try {
      const closed = new Promise((resolve) => first.s.once("close", resolve));
      first.s.destroy();
      await closed;
      second = await client(id);
      await Bun.sleep(400);
    } finally {
      process.kill(monitor, "SIGCONT");
    }
    try {
      await until("output to the second client", () => second!.seen.bytes > 0, 50);
    } finally {
      second?.s.destroy();
    }
    expect(await r(["rm", "-f", "handover"])).toMatchObject({ code: 0 });
  });

  test("a client sending a frame longer than the monitor takes (2 GiB, 4 GiB - 1) is dropped; a ninth client is closed: rl attach says so in one line, and that the container runs on", async () => {
    expect(await r(["run", "-d", "--name", "crowded", ALPINE, "sh", "-c", "while true; do echo tick; sleep 0.1; done"])).toMatchObject({ code: 0 });
    const id = await inspect("crowded", "{{.Id}}");
    for (const len of [[0, 0, 0, 0x80], [0xff, 0xff, 0xff, 0xff]]) {
      const bad = await client(id);
      const closed = new Promise((resolve) => bad.s.once("close", resolve));
      bad.s.write(Uint8Array.from([0, ...len]));
      await closed;
    }
    const eight = await Promise.all(Array.from({ length: 8 }, () => client(id)));
    try {
      await until("output to all eight clients", () => eight.every((c) => c.seen.bytes > 0));
      expect(await r(["attach", "--no-stdin", "crowded"])).toEqual({
        code: 125,
        stdout: "",
        stderr: "rl: container crowded's monitor closed the connection (it drops a client that reads nothing for 10 s, and serves 8 at most); the container runs on: rl attach crowded comes back\n",
      });
      expect(await status("crowded")).toMatch(/^Up /);
    } finally {
      for (const c of eight) c.s.destroy();
    }
    expect(await r(["rm", "-f", "crowded"])).toMatchObject({ code: 0 });
  });

  test("a container whose stdout is still held open elsewhere when it ends still ends: attach gets its code, --rm removes it", async () => {
    expect(await r(["run", "-d", "--rm", "--name", "held", ALPINE, "sh", "-c", "until [ -e /go ]; do echo waiting; sleep 0.1; done; echo bye; exit 3"])).toMatchObject({ code: 0 });
    // The user's own process holds the container's stdout (its pipe's write end) past the container's end.
    const fd = openSync(`/proc/${await inspect("held", "{{.State.Pid}}")}/fd/1`, "w");
    try {
      const p = Bun.spawn([RL_BIN, "attach", "held"], { env: t.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      started.push(p);
      let out = "";
      const reading = (async () => {
        for await (const chunk of p.stdout) out += new TextDecoder().decode(chunk);
      })();
      await until("attached", () => out.includes("waiting"));
      expect(await r(["exec", "held", "touch", "/go"])).toMatchObject({ code: 0 });
      // The monitor reads what is left for 2 s at most, then lets go of the stream.
      await until("attach to end", () => p.exitCode !== null, 80);
      await reading;
      expect({ code: p.exitCode, end: out.slice(-4) }).toEqual({ code: 3, end: "bye\n" });
      await until("held removed", async () => (await r(["ps", "-aq", "--filter", "name=^held$"])).stdout === "");
    } finally {
      closeSync(fd);
    }
  });

  test("errors: a stopped container, a foreground one, no such container, bad detach keys; nothing changes", async () => {
    expect(await r(["create", "--name", "idle", ALPINE, "true"])).toMatchObject({ code: 0 });
    const stopped = await r(["attach", "idle"]);
    expect(stopped.code).toBe(125);
    expect(stopped.stderr).toBe("rl: cannot attach to container idle: it is not running (rl start -a starts it attached)\n");
    const fg = Bun.spawn([RL_BIN, "run", "--name", "fg", ALPINE, "sleep", "30"], { env: t.env, stdout: "ignore", stderr: "ignore" });
    started.push(fg);
    await until("fg running", async () => (await status("fg")).startsWith("Up"));
    const foreground = await r(["attach", "fg"]);
    expect(foreground.code).toBe(125);
    expect(foreground.stderr).toContain("runs in the foreground of the rl run that started it");
    expect(await r(["rm", "-f", "fg"])).toMatchObject({ code: 0 });
    expect(await r(["attach", "nosuch"])).toMatchObject({ code: 125, stderr: expect.stringContaining("no such container") });
    expect(await r(["attach", "--detach-keys", "ctrl-1", "idle"])).toEqual({ code: 125, stdout: "", stderr: 'rl: invalid detach keys "ctrl-1": "ctrl-1" is neither one character nor ctrl-X (X a letter or one of @[\\]^_)\n' });
    expect(await status("idle")).toBe("Created");
  });

  test("start -a attaches from the first byte; start -ai sends stdin; start -a of a running container attaches to it", async () => {
    expect(await r(["create", "--name", "counter", ALPINE, "sh", "-c", "echo first; echo second >&2; exit 3"])).toMatchObject({ code: 0 });
    expect(await r(["start", "-a", "counter"])).toEqual({ code: 3, stdout: "first\n", stderr: "second\n" });
    expect(await r(["create", "-i", "--name", "cat", ALPINE, "sh", "-c", "cat; exit 6"])).toMatchObject({ code: 0 });
    expect(await r(["start", "-ai", "cat"], "piped\n")).toEqual({ code: 6, stdout: "piped\n", stderr: "" });
    expect(await r(["run", "-di", "--name", "late", ALPINE, "sh", "-c", "read x; echo late $x"])).toMatchObject({ code: 0 });
    expect(await r(["start", "-ai", "late"], "comer\n")).toEqual({ code: 0, stdout: "late comer\n", stderr: "" });
  });

  test("run -a: only the streams named; stdin not named is closed", async () => {
    const script = "echo out; echo err >&2; cat; echo done";
    expect(await r(["run", "--rm", "-a", "stdout", ALPINE, "sh", "-c", script], "in\n")).toEqual({ code: 0, stdout: "out\ndone\n", stderr: "" });
    expect(await r(["run", "--rm", "-a", "stderr", ALPINE, "sh", "-c", script], "in\n")).toEqual({ code: 0, stdout: "", stderr: "err\n" });
    expect(await r(["run", "--rm", "-i", "-a", "stdin", "-a", "stdout", ALPINE, "sh", "-c", script], "in\n")).toEqual({ code: 0, stdout: "out\nin\ndone\n", stderr: "" });
    expect(await r(["run", "--rm", "-a", "stdout", "-d", ALPINE, "true"])).toEqual({ code: 125, stdout: "", stderr: "rl: cannot combine -a (attach to streams) with -d (detach)\n" });
    expect(await r(["run", "--rm", "-a", "stdio", ALPINE, "true"])).toMatchObject({ code: 125, stderr: 'rl: invalid -a "stdio": use stdin, stdout or stderr\n' });
  });
});
