import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping rl exec integration tests: ${reason}`);

describe.skipIf(Boolean(reason))("rl exec", () => {
  const t = makeEnv();
  const runs: Subprocess[] = [];
  const exec = (args: string[], stdin?: string) => rl(["exec", ...args], { env: t.env, stdin });
  /** A container left running by an `rl run` in the background; resolves once ps shows it Up. */
  const start = async (name: string, args: string[]) => {
    runs.push(Bun.spawn([RL_BIN, "run", "--name", name, ...args], { env: t.env, stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
    await until(`${name} to be up`, async () => (await rl(["ps", "--format", "{{.Names}} {{.Status}}"], { env: t.env })).stdout.includes(`${name} Up`));
  };
  /** What `script` (a terminal of its own, where rl's stdio is that terminal) prints for a command line. */
  const onTerminal = (line: string) => {
    const s = Bun.spawnSync(["script", "-qec", line, "/dev/null"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    return { code: s.exitCode, stdout: s.stdout.toString().replaceAll("\r", "") };
  };

  beforeAll(async () => {
    await start("x", ["--hostname", "exectest", "-e", "FROM_RUN=1", "-e", "KEEP=run", "-w", "/srv", "--umask", "027", "--ulimit", "nofile=100:200", "--security-opt", "no-new-privileges", ALPINE, "sleep", "1000"]);
  });
  afterAll(async () => {
    // rm -f kills the containers; their rl run then ends. A run that did not (or a failed rm): SIGKILL,
    // which takes its container with it (the first process dies with its rl).
    for (const name of ["y", "x", "done"]) await rl(["rm", "-f", name], { env: t.env });
    for (const p of runs) {
      if (await Promise.race([p.exited.then(() => true), Bun.sleep(5000).then(() => false)])) continue;
      p.kill("SIGKILL");
      await p.exited;
    }
    await t.cleanup();
  });

  test("runs the command in the container: its output, its exit code", async () => {
    expect(await exec(["x", "sh", "-c", "echo out; echo err >&2; exit 3"])).toEqual({ code: 3, stdout: "out\n", stderr: "err\n" });
    expect(await exec(["x", "true"])).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("the container's environment, with --env-file and -e on top", async () => {
    const file = join(t.root, "env");
    writeFileSync(file, "# a comment\nFROM_FILE=f\nKEEP=file\n");
    const r = await exec(["-e", "KEEP=flag", "--env-file", file, "-e", "NEW=2", "x", "env"]);
    expect(r.code).toBe(0);
    const env = r.stdout.split("\n");
    for (const kv of ["FROM_RUN=1", "KEEP=flag", "FROM_FILE=f", "NEW=2", "HOSTNAME=exectest", "HOME=/root", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]) expect(env).toContain(kv);
    expect(env.filter((l) => l.startsWith("KEEP="))).toEqual(["KEEP=flag"]);
  });

  test("-u by name (resolved in the container's /etc/passwd, one added at run time too) and by uid:gid; -w; the container's by default", async () => {
    expect(await exec(["x", "adduser", "-D", "-u", "1000", "-h", "/home/bob", "bob"])).toMatchObject({ code: 0 });
    expect((await exec(["-u", "bob", "x", "sh", "-c", "id; echo $HOME"])).stdout).toBe("uid=1000(bob) gid=1000(bob) groups=1000(bob)\n/home/bob\n");
    expect((await exec(["-u", "nobody", "x", "id"])).stdout).toBe("uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n");
    expect((await exec(["-u", "1234:5678", "x", "id"])).stdout).toBe("uid=1234 gid=5678\n");
    expect((await exec(["x", "id"])).stdout).toBe("uid=0(root) gid=0(root) groups=0(root),1(bin),2(daemon),3(sys),4(adm),6(disk),10(wheel),11(floppy),20(dialout),26(tape),27(video)\n");
    expect((await exec(["x", "pwd"])).stdout).toBe("/srv\n");
    expect((await exec(["-w", "/tmp", "x", "pwd"])).stdout).toBe("/tmp\n");
    expect(await exec(["-u", "nosuch", "x", "id"])).toEqual({ code: 125, stdout: "", stderr: "rl: unable to find user nosuch: no matching entries in the container's /etc/passwd\n" });
    expect(await exec(["-u", "root:nosuch", "x", "id"])).toEqual({ code: 125, stdout: "", stderr: "rl: unable to find group nosuch: no matching entries in the container's /etc/group\n" });
  });

  test("joins every namespace of the container's first process: pid 1 is its sleep, its hostname, and a file it writes is the container's", async () => {
    const script = "for ns in user mnt pid uts ipc net cgroup; do [ \"$(readlink /proc/self/ns/$ns)\" = \"$(readlink /proc/1/ns/$ns)\" ] && echo $ns; done; cat /proc/1/cmdline | tr '\\0' ' '; echo; hostname; echo written > /tmp/from-exec";
    expect(await exec(["x", "sh", "-c", script])).toEqual({ code: 0, stdout: "user\nmnt\npid\nuts\nipc\nnet\ncgroup\nsleep 1000 \nexectest\n", stderr: "" });
    const pid = (await rl(["inspect", "-f", "{{.State.Pid}}", "x"], { env: t.env })).stdout.trim();
    expect(readFileSync(`/proc/${pid}/root/tmp/from-exec`, "utf8")).toBe("written\n");
    // Not rl's own namespaces: the container's differ from the host's.
    expect((await exec(["x", "readlink", "/proc/self/ns/pid"])).stdout.trim()).not.toBe(`pid:[${Bun.spawnSync(["stat", "-Lc", "%i", "/proc/self/ns/pid"]).stdout.toString().trim()}]`);
  });

  test("the container's umask, resource limits and no_new_privs", async () => {
    expect(await exec(["x", "sh", "-c", "umask; ulimit -n; ulimit -Hn; grep NoNewPrivs /proc/self/status"])).toEqual({ code: 0, stdout: "0027\n100\n200\nNoNewPrivs:\t1\n", stderr: "" });
  });

  test("the command leads a session of its own, as with podman", async () => {
    // /proc/self/stat: pid (comm) state ppid pgrp session
    expect(await exec(["x", "sh", "-c", "cut -d' ' -f1,5,6 /proc/$$/stat"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^(\d+) \1 \1\n$/) });
  });

  test("-i passes stdin; without it stdin is empty", async () => {
    expect(await exec(["-i", "x", "cat"], "piped\n")).toEqual({ code: 0, stdout: "piped\n", stderr: "" });
    expect(await exec(["x", "cat"], "piped\n")).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("-t: a terminal from the container's own devpts; the exit code still comes through", () => {
    const r = onTerminal(`${RL_BIN} exec -t x sh -c 'tty; exit 4'`);
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\n$/);
    expect(r.code).toBe(4);
  });

  test("without -t, on rl's terminal, the command holds no descriptor of it: pipes that rl relays", () => {
    const r = onTerminal(`${RL_BIN} exec -i x sh -c 'for fd in 0 1 2; do echo $fd $(readlink /proc/self/fd/$fd); done; echo $(ls /proc/self/fd | wc -l) fds'`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0 pipe:\[\d+\]\n1 pipe:\[\d+\]\n2 pipe:\[\d+\]\n4 fds\n$/);
    const noStdin = onTerminal(`${RL_BIN} exec x readlink /proc/self/fd/0`);
    expect(noStdin.stdout).toBe("/dev/null\n");
  });

  test("-d: prints nothing and returns; the command goes on inside, a child of the container's init", async () => {
    expect(await exec(["-d", "x", "sleep", "4242"])).toEqual({ code: 0, stdout: "", stderr: "" });
    const ps = await until("the detached sleep", async () => (await exec(["x", "ps", "-o", "ppid,args"])).stdout.split("\n").find((l) => l.includes("sleep 4242")));
    expect(ps.trim()).toBe("1 sleep 4242");
    expect((await exec(["x", "pkill", "-f", "sleep 4242"])).code).toBe(0);
    expect(await exec(["-d", "x", "nosuchcommand"])).toEqual({ code: 125, stdout: "", stderr: "rl: nosuchcommand: executable file not found in $PATH: No such file or directory\n" });
  });

  test("-dt: the command gets a terminal of its own (its controlling terminal), which outlives rl; its holder goes when the command does", async () => {
    const holders = () => readdirSync("/proc").filter((n) => /^\d+$/.test(n)).filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0")[1] === "drain";
      } catch {
        return false;
      }
    });
    const before = holders();
    expect(await exec(["-dt", "x", "sh", "-c", "tty > /tmp/dt-tty; [ -t 0 ] && [ -t 1 ] && echo yes > /tmp/dt-ctty; set -- $(cat /proc/$$/stat); [ \"$7\" != 0 ] && echo own > /tmp/dt-own; sleep 1; echo kept > /tmp/dt-done"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(holders().filter((h) => !before.includes(h)).length).toBe(1);
    await until("the command's end, after rl's", async () => (await exec(["x", "cat", "/tmp/dt-done"])).stdout === "kept\n");
    expect((await exec(["x", "cat", "/tmp/dt-tty", "/tmp/dt-ctty", "/tmp/dt-own"])).stdout).toMatch(/^\/dev\/pts\/\d+\nyes\nown\n$/);
    await until("the holder to go", () => holders().filter((h) => !before.includes(h)).length === 0);
  });

  test("a command not found is 127, one not executable 126, a working directory not there 127, as podman", async () => {
    expect(await exec(["x", "nosuchcommand"])).toEqual({ code: 127, stdout: "", stderr: "rl: nosuchcommand: executable file not found in $PATH: No such file or directory\n" });
    const notExecutable = await exec(["x", "/etc/hostname"]);
    expect(notExecutable.code).toBe(126);
    expect(notExecutable.stderr).toStartWith("rl: /etc/hostname: Permission denied");
    expect(await exec(["-w", "/nonexistent", "x", "pwd"])).toMatchObject({ code: 127, stderr: "rl: cannot change to the working directory /nonexistent: No such file or directory (ENOENT)\n" });
  });

  test("capabilities: the container's by default, every one with --privileged, none for another user; the container's seccomp filter always", async () => {
    const status = async (args: string[]) => (await exec([...args, "x", "cat", "/proc/self/status", "/proc/1/status"])).stdout;
    const field = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}:\\s+(\\S+)$`, "gm"))].map((m) => m[1]);
    const [own, first] = field(await status([]), "CapEff");
    expect(own).toBe(first!);
    expect(own).toBe("00000000800405fb");
    // Every capability this kernel has (a user namespace's are not limited by rl's own bounding set).
    const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    const privileged = await status(["--privileged"]);
    expect(field(privileged, "CapEff")[0]).toBe(((1n << BigInt(last + 1)) - 1n).toString(16).padStart(16, "0"));
    expect(field(privileged, "Seccomp")).toEqual(["2", "2"]);
    expect(field(await status(["-u", "nobody"]), "CapEff")[0]).toBe("0000000000000000");
  });

  test("a hostile /etc/passwd: a symlink to a host file resolves inside the container; a fifo does not hang rl", async () => {
    const host = join(t.root, "host-passwd");
    writeFileSync(host, "hostonly:x:4242:4242::/hostonly:/bin/sh\n", { mode: 0o644 });
    expect((await exec(["x", "sh", "-c", `cp /etc/passwd /etc/passwd.real && echo 'inside:x:4343:4343::/inside:/bin/sh' >> /etc/passwd.real && ln -sf ${host} /etc/passwd`])).code).toBe(0);
    try {
      expect(await exec(["-u", "hostonly", "x", "id"])).toEqual({ code: 125, stdout: "", stderr: "rl: unable to find user hostonly: no matching entries in the container's /etc/passwd\n" });
      // An absolute symlink that stays inside the container is followed, as the container sees it.
      expect((await exec(["x", "ln", "-sf", "/etc/passwd.real", "/etc/passwd"])).code).toBe(0);
      expect((await exec(["-u", "inside", "x", "id", "-u"])).stdout).toBe("4343\n");
      expect((await exec(["x", "sh", "-c", "rm /etc/passwd && mkfifo /etc/passwd"])).code).toBe(0);
      expect(await exec(["-u", "nobody", "x", "id"])).toEqual({ code: 125, stdout: "", stderr: "rl: unable to find user nobody: no matching entries in the container's /etc/passwd\n" });
    } finally {
      expect((await exec(["x", "sh", "-c", "rm -f /etc/passwd && grep -v ^inside: /etc/passwd.real > /etc/passwd && rm /etc/passwd.real"])).code).toBe(0);
    }
  });

  test("signals sent to rl reach the command", async () => {
    const p = Bun.spawn([RL_BIN, "exec", "x", "sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.1; done"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(7);
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("got TERM\n");
  });

  test("a container that shares another's network: exec joins its own pid namespace", async () => {
    await start("y", ["--network", "container:x", ALPINE, "sleep", "2000"]);
    const r = await exec(["y", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; [ \"$(readlink /proc/self/ns/pid)\" = \"$(readlink /proc/1/ns/pid)\" ] && echo same pid namespace"]);
    expect(r).toEqual({ code: 0, stdout: "sleep 2000 \nsame pid namespace\n", stderr: "" });
  });

  test("errors: a container that is not running, none by that name, a relative -w: one line, exit 125", async () => {
    expect((await rl(["run", "--name", "done", ALPINE, "true"], { env: t.env })).code).toBe(0);
    expect(await exec(["done", "true"])).toEqual({ code: 125, stdout: "", stderr: "rl: can only create exec sessions on running containers: done is not running (exited)\n" });
    expect(await exec(["nosuch", "true"])).toEqual({ code: 125, stdout: "", stderr: "rl: no such container: nosuch\n" });
    expect(await exec(["-w", "tmp", "x", "true"])).toEqual({ code: 125, stdout: "", stderr: 'rl: the working directory "tmp" must be an absolute path\n' });
    expect(await exec(["x"])).toMatchObject({ code: 125, stderr: "rl: exec needs more arguments (see rl exec --help)\n" });
  });
});
