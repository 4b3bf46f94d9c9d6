import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping container verb integration tests: ${reason}`);

/**
 * A private store for a describe block, and containers that run in the background there: each `rl run
 * --name NAME ... sleep 1000` runs until the block's afterAll kills it (SIGKILL: the container dies with
 * its rl), even when a test fails; then the store goes.
 */
function sleepers() {
  const t = makeEnv();
  const started: Subprocess[] = [];
  afterAll(async () => {
    for (const p of started) p.kill("SIGKILL");
    await Promise.all(started.map((p) => p.exited));
    await t.cleanup();
  });
  const ok = async (args: string[], stdin?: string) => {
    const r = await rl(args, { env: t.env, stdin });
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    return r.stdout;
  };
  const status = async (name: string) => (await ok(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).split("\n").find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
  return {
    t,
    ok,
    status,
    /** Start NAME (`sleep 1000` unless told) and return once ps shows it Up. */
    async start(name: string, args: string[] = [], command = ["sleep", "1000"]): Promise<Subprocess> {
      const p = Bun.spawn([RL_BIN, "run", "--name", name, "--network", "none", ...args, ALPINE, ...command], { env: t.env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      started.push(p);
      await until(`${name} to be Up`, async () => {
        if (p.exitCode !== null) throw new Error(`rl run --name ${name} ended (${p.exitCode}): ${await new Response(p.stderr).text()}`);
        return (await status(name))?.startsWith("Up");
      }, 600);
      return p;
    },
    /** A process the test started itself (nsenter), killed with the containers. */
    track(p: Subprocess) {
      started.push(p);
      return p;
    },
  };
}

describe.skipIf(Boolean(reason))("rl rename, container exists, container ls/inspect/rm", () => {
  const s = sleepers();
  const t = s.t;

  test("rename a running and a stopped container: ps, inspect and rm know the new name only; collisions and bad names refused", async () => {
    await s.start("r1");
    expect((await rl(["run", "--name", "e1", "--network", "none", ALPINE, "true"], { env: t.env })).code).toBe(0);
    const id = (await s.ok(["inspect", "-f", "{{.Id}}", "r1"])).trim();
    const pid = Number((await s.ok(["inspect", "-f", "{{.State.Pid}}", "r1"])).trim());

    expect(await rl(["rename", "r1", "r2"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await s.status("r2")).toStartWith("Up");
    expect(await s.status("r1")).toBeUndefined();
    expect(await s.ok(["inspect", "-f", "{{.Id}} {{.Name}} {{.State.Status}} {{.State.Pid}}", "r2"])).toBe(`${id} r2 running ${pid}\n`);
    expect(await rl(["inspect", "r1"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: no such container or image: r1\n" });
    // As podman: the name the container started with stays in its /etc/hosts.
    expect(readFileSync(`/proc/${pid}/root/etc/hosts`, "utf8")).toMatch(/\br1\b/);
    // The old name is free again; the stopped container renames too, by id prefix.
    expect((await rl(["run", "--name", "r1", "--network", "none", ALPINE, "true"], { env: t.env })).code).toBe(0);
    const e1 = (await s.ok(["inspect", "-f", "{{.Id}}", "e1"])).trim();
    await s.ok(["rename", e1.slice(0, 8), "e1.old"]);
    expect(await s.status("e1.old")).toStartWith("Exited (0)");

    expect(await rl(["rename", "r2", "e1.old"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: `rl: cannot rename container r2 to e1.old: the name is already in use by ${e1.slice(0, 12)}\n` });
    expect(await rl(["rename", "r2", "bad/name"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: 'rl: invalid container name "bad/name": use letters, digits, _ . and -, starting with a letter or digit\n' });
    expect(await rl(["rename", "nosuch", "x"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: no such container: nosuch\n" });
    expect(await rl(["rename", "r2"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: rename needs more arguments (see rl rename --help)\n" });
    // Its own name again: nothing to do, as podman.
    expect(await rl(["rename", "r2", "r2"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await s.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean).sort()).toEqual(["e1.old", "r1", "r2"]);
  });

  test("container exists: 0 for a name or id prefix, 1 for what is not there", async () => {
    const id = (await s.ok(["inspect", "-f", "{{.Id}}", "r2"])).trim();
    for (const [name, code] of [["r2", 0], [id.slice(0, 6), 0], [id, 0], ["e1.old", 0], ["nosuch", 1], ["e1", 1]] as const) expect({ name, ...(await rl(["container", "exists", name], { env: t.env })) }).toEqual({ name, code, stdout: "", stderr: "" });
    expect(await rl(["container", "exists"], { env: t.env })).toMatchObject({ code: 125, stderr: "rl: container exists needs more arguments (see rl container exists --help)\n" });
  });

  test("container ls, list, ps, inspect, rm are the verbs they name; rm of a running one needs -f", async () => {
    const all = await s.ok(["ps", "-a", "--format", "{{.ID}} {{.Names}} {{.Image}}"]);
    expect(all.split("\n").filter(Boolean).length).toBe(3);
    for (const verb of ["ls", "list", "ps"]) expect(await s.ok(["container", verb, "-a", "--format", "{{.ID}} {{.Names}} {{.Image}}"])).toBe(all);
    expect(await s.ok(["container", "inspect", "-f", "{{.Name}}", "r2", "e1.old"])).toBe("r2\ne1.old\n");
    // container inspect is about containers only: an image is no container.
    const image = JSON.parse(await s.ok(["images", "--format", "json"]))[0].Id as string;
    expect(await rl(["container", "inspect", image], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: `rl: no such container: ${image}\n` });
    expect(await rl(["container", "rm", "r2"], { env: t.env })).toEqual({ code: 2, stdout: "", stderr: "rl: cannot remove container r2: it is running (stop it first, or use rm -f)\n" });
    expect(await s.status("r2")).toStartWith("Up");
    expect(await s.ok(["container", "rm", "e1.old"])).toMatch(/^[0-9a-f]{64}\n$/);
    expect(await rl(["container", "exists", "e1.old"], { env: t.env })).toMatchObject({ code: 1 });
  });
});

describe.skipIf(Boolean(reason))("rl container prune", () => {
  const s = sleepers();
  const t = s.t;
  const PROMPT = "WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ";
  const exited = async (name: string, image = ALPINE) => {
    expect((await rl(["run", "--name", name, "--network", "none", image, "true"], { env: t.env })).code).toBe(0);
    return (await s.ok(["inspect", "-f", "{{.Id}}", name])).trim();
  };
  const names = async () => (await s.ok(["ps", "-a", "--format", "{{.Names}}"])).split("\n").filter(Boolean).sort();

  test("asks first (stdin answers): no, or no answer, keeps everything; yes removes the stopped ones only", async () => {
    const run = await s.start("keep");
    const ids = [await exited("x1"), await exited("x2")];
    expect(await rl(["container", "prune"], { env: t.env, stdin: "n\n" })).toEqual({ code: 0, stdout: PROMPT, stderr: "" });
    expect(await rl(["container", "prune"], { env: t.env, stdin: "\n" })).toEqual({ code: 0, stdout: PROMPT, stderr: "" });
    expect(await rl(["container", "prune"], { env: t.env, stdin: "" })).toEqual({ code: 125, stdout: PROMPT, stderr: "rl: cannot prune containers: stdin ended before an answer (use -f not to be asked)\n" });
    expect(await names()).toEqual(["keep", "x1", "x2"]);
    const yes = await rl(["container", "prune"], { env: t.env, stdin: "y\n" });
    expect(yes).toMatchObject({ code: 0, stderr: "" });
    expect(yes.stdout).toStartWith(PROMPT);
    expect(yes.stdout.slice(PROMPT.length).split("\n").filter(Boolean).sort()).toEqual(ids.sort());
    expect(await names()).toEqual(["keep"]);
    expect(await s.status("keep")).toStartWith("Up");
    expect(run.exitCode).toBeNull();
  });

  test("-f does not ask; --filter until= and label= choose; bad filters are refused before anything goes", async () => {
    const old = await exited("old");
    expect(await rl(["container", "prune", "-f", "--filter", "until=1h"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await rl(["container", "prune", "-f", "--filter", "label=tier"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    for (const [filter, stderr] of [
      ["bogus=1", 'rl: invalid filter "bogus=1": unknown key "bogus" (keys: until, label)\n'],
      ["until=soon", "rl: invalid filter until=soon: use a duration (24h, 90m) or a time (2026-12-01T00:00:00Z, Unix seconds)\n"],
    ] as const) expect(await rl(["container", "prune", "--filter", filter], { env: t.env, stdin: "y\n" })).toEqual({ code: 125, stdout: "", stderr });
    expect(await names()).toEqual(["keep", "old"]);

    // An image with a label: alpine's files imported again with LABEL tier=web.
    const tar = join(t.root, "alpine.tar");
    await s.ok(["export", "-o", tar, "old"]);
    await s.ok(["import", "--change", "LABEL tier=web", tar, "labeled"]);
    const web = await exited("web", "labeled");
    expect(await s.ok(["container", "prune", "-f", "--filter", "label=tier=web"])).toBe(`${web}\n`);
    expect(await names()).toEqual(["keep", "old"]);
    // until= a time to come: every stopped container was created before it.
    expect(await s.ok(["container", "prune", "-f", "--filter", "until=2999-01-01T00:00:00Z"])).toBe(`${old}\n`);
    expect(await names()).toEqual(["keep"]);
    expect(await s.ok(["container", "prune", "-f"])).toBe("");
    expect(await s.status("keep")).toStartWith("Up");
  });
});

describe.skipIf(Boolean(reason))("rl top", () => {
  const s = sleepers();
  const t = s.t;
  const table = (out: string) => out.trimEnd().split("\n").map((l) => l.split(/ {2,}/));
  const top = async (...args: string[]) => table(await s.ok(["top", "web", ...args]));
  /** Host ids of a process: /proc/PID/status's effective uid and gid. */
  const hostIds = (pid: number) => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (k: string) => new RegExp(`^${k}:\\s+\\d+\\s+(\\d+)`, "m").exec(status)![1]!;
    return { uid: field("Uid"), gid: field("Gid") };
  };

  test("the container's processes as it sees them: sleep is pid 1 as guest; a process started inside shows too", async () => {
    await s.start("web", ["-u", "guest"]);
    const hpid = Number((await s.ok(["inspect", "-f", "{{.State.Pid}}", "web"])).trim());
    // ps shows it Up as its first process starts: wait for that process to be the workload.
    const first = await until("sleep to be the container's pid 1", async () => (await top()).find((r) => r[1] === "1" && r.at(-1) === "sleep 1000"));
    expect((await top())[0]).toEqual(["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]);
    expect(first).toEqual(["guest", "1", "0", expect.stringMatching(/^\d+\.\d{3}$/), expect.stringMatching(/^(\d+h)?(\d+m)?[\d.]+m?s$/), "?", expect.stringMatching(/s$/), "sleep 1000"]);

    // A second process in the container's namespaces, as exec would start it (root inside, its parent outside).
    s.track(Bun.spawn(["nsenter", "-t", String(hpid), "-U", "-m", "-p", "sleep", "999"], { env: t.env, stdin: "ignore", stdout: "ignore", stderr: "inherit" }));
    const second = await until("the second process in top", async () => (await top()).find((r) => r.at(-1) === "sleep 999"));
    expect(second[0]).toBe("root");
    expect(Number(second[1])).toBeGreaterThan(1);
    expect(second[2]).toBe("0");
    expect((await top()).length).toBe(3);

    // Descriptors, as words, comma lists and AIX codes: the host's view beside the container's.
    const rows = await top("pid,hpid", "user", "huser", "group", "hgroup", "%c", "%p", "seccomp", "nice");
    expect(rows[0]).toEqual(["PID", "HPID", "USER", "HUSER", "GROUP", "HGROUP", "COMMAND", "PID", "SECCOMP", "NI"]);
    const host = hostIds(hpid);
    expect(rows[1]).toEqual(["1", String(hpid), "guest", host.uid, "users", host.gid, "sleep", "1", "filter", "0"]);
    const secondHost = Number(rows[2]![1]);
    expect(readFileSync(`/proc/${secondHost}/cmdline`, "utf8")).toBe("sleep\0" + "999\0");
    expect(rows[2]!.slice(2, 7)).toEqual(["root", String(process.getuid!()), "root", String(process.getgid!()), "sleep"]);
  });

  test("a hostile container: its /etc/passwd a symlink to a host file, its /etc/group a FIFO; top reads neither", async () => {
    const hostFile = join(t.root, "host-passwd");
    writeFileSync(hostFile, "leaked:x:0:0:host:/:/bin/sh\n");
    await s.start("trap", [], ["sh", "-c", `ln -sf ${hostFile} /etc/passwd && rm /etc/group && mkfifo /etc/group && exec sleep 1000`]);
    const row = await until("sleep to be trap's pid 1", async () => table(await s.ok(["top", "trap", "pid", "user", "group", "args"])).find((r) => r[3] === "sleep 1000"));
    // The link is followed inside the container's root, where that path does not exist: the ids stay numbers.
    expect(row).toEqual(["1", "0", "0", "sleep 1000"]);
  });

  test("errors: a descriptor rl does not know, ps(1) options, a stopped container, no container", async () => {
    const bogus = await rl(["top", "web", "pid", "bogus"], { env: t.env });
    expect(bogus).toMatchObject({ code: 125, stdout: "" });
    expect(bogus.stderr).toStartWith('rl: unknown format descriptor "bogus": use args, capamb, capbnd, capeff, capinh, capprm, comm, etime, group, groups, hgroup, hgroups, hpid, huser, label, nice, pcpu, pgid, pid, ppid, rgroup, rss, ruser, seccomp, state, stime, time, tty, user, vsz or an AIX code (%C ');
    expect(await rl(["top", "web", "-ef"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: unknown flag: -e (see rl top --help)\n" });
    expect((await rl(["run", "--name", "done", "--network", "none", ALPINE, "true"], { env: t.env })).code).toBe(0);
    expect(await rl(["top", "done"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: cannot show the processes of container done: it is not running\n" });
    expect(await rl(["container", "top", "nosuch"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: no such container: nosuch\n" });
  });
});
