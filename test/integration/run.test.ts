import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { userInfo } from "node:os";
import { ALPINE, BUSYBOX, FIXTURES, HELLO, makeEnv, rl, skipReason, RL_BIN, until } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping rl run integration tests: ${reason}`);

describe.skipIf(Boolean(reason))("rl run", () => {
  const t = makeEnv();
  const run = (args: string[], stdin?: string) => rl(["run", ...args], { env: t.env, stdin });

  beforeAll(async () => {
    // Unpack once; later tests reuse the stored layers.
    const r = await run(["--rm", ALPINE, "true"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
  afterAll(() => t.cleanup());

  describe("image sources", () => {
    test("oci: layout with a ref runs the image's command", async () => {
      const r = await run(["--rm", ALPINE, "cat", "/etc/alpine-release"]);
      expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n" });
    });

    test("the C helpers also work compiled by TinyCC at run time (no C compiler at install)", async () => {
      const r = await rl(["run", "--rm", ALPINE, "cat", "/etc/alpine-release"], { env: { ...t.env, RL_TINYCC: "1" } });
      expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n", stderr: "" });
    });

    test("an executor program that cannot be run: the container starts from a copy of rl instead", async () => {
      // /etc/hostname exists but is no program: its exec fails.
      const r = await rl(["run", "--rm", ALPINE, "cat", "/etc/alpine-release"], { env: { ...t.env, RL_TEST_EXECUTOR_PROGRAM: "/etc/hostname", RL_DEBUG: "1" } });
      expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n" });
      // (Other debug lines, the store's opening, are not this test's.)
      expect(r.stderr.split("\n").filter((l) => l.includes("executor program"))).toEqual([expect.stringMatching(/^rl: debug: cannot run the executor program \/etc\/hostname: [^\n]+; cloning a copy of rl instead$/)]);
    });

    test("the image's Cmd runs when no command is given", async () => {
      const r = await run(["--rm", "-i", ALPINE], "echo from-default-sh\n");
      expect(r).toMatchObject({ code: 0, stdout: "from-default-sh\n" });
    });

    test("a stored image runs by id prefix", async () => {
      const manifest = JSON.parse(readFileSync(`${FIXTURES}/oci/alpine-3.20.3/blobs/sha256/198c5de3ec865533261cfaf079cc21a9edf39833bc2319438d8d710807cb2846`, "utf8"));
      const id = (manifest.config.digest as string).slice(7, 19);
      const r = await run(["--rm", id, "cat", "/etc/alpine-release"]);
      expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n" });
    });

    test("oci-archive: and docker-archive: made by skopeo", async () => {
      const oa = join(t.root, "bb-oci.tar"), da = join(t.root, "bb-docker.tar");
      for (const dest of [`oci-archive:${oa}:bb`, `docker-archive:${da}:example.com/bb:1`]) {
        const s = Bun.spawnSync(["skopeo", "copy", "-q", BUSYBOX, dest], { stderr: "pipe" });
        expect(s.stderr.toString()).toBe("");
      }
      for (const ref of [`oci-archive:${oa}:bb`, `oci-archive:${oa}`, `docker-archive:${da}`, `docker-archive:${da}:@0`, `docker-archive:${da}:example.com/bb:1`]) {
        const r = await run(["--rm", ref, "echo", "ok"]);
        expect({ ref, ...r }).toMatchObject({ ref, code: 0, stdout: "ok\n" });
      }
    });

    test("glibc, uclibc and musl busybox images run", async () => {
      for (const v of ["glibc", "uclibc", "musl"]) {
        const r = await run(["--rm", `oci:${FIXTURES}/oci/busybox-1.38.0-${v}-amd64`, "echo", v]);
        expect(r).toMatchObject({ code: 0, stdout: `${v}\n` });
      }
    });

    test("hello-world's index gives the host's platform", async () => {
      const r = await run(["--rm", HELLO]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("Hello from Docker!");
    });

    test("--platform picks another manifest from an index", async () => {
      const r = await run(["--rm", "--platform", "linux/arm64", HELLO]);
      expect(r.code).toBe(126);
      expect(r.stderr).toContain("Exec format error");
    });

    test("cirros: device nodes skipped with one warning, setuid bits kept", async () => {
      const r = await run(["--rm", `oci:${FIXTURES}/oci/cirros-0.4.0-amd64:0.4.0`, "ls", "-l", "/bin/busybox"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^-rws/);
      expect(r.stderr).toMatch(/^rl: warning: skipped 7 device node/);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  });

  describe("namespaces", () => {
    test("the workload is PID 1 and alone", async () => {
      const r = await run(["--rm", ALPINE, "sh", "-c", "echo $$; ps -o pid,comm > /tmp/ps; cat /tmp/ps"]);
      // Only the shell (PID 1) and ps itself: no host process is visible.
      expect(r.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "))).toEqual(["1", "PID COMMAND", "1 sh", "2 ps", ""]);
    });

    test("ids are mapped in full: root is the user, 1.. the subordinate range", async () => {
      const r = await run(["--rm", ALPINE, "cat", "/proc/self/uid_map"]);
      const rows = r.stdout.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
      expect(rows[0]).toEqual([0, process.getuid!(), 1]);
      expect(rows[1]![0]).toBe(1);
      expect(rows[1]![2]).toBeGreaterThanOrEqual(65536);
    });

    test("files owned by other ids keep their owner (gid 42 shadow)", async () => {
      const r = await run(["--rm", ALPINE, "stat", "-c", "%u:%g", "/etc/shadow"]);
      expect(r.stdout).toBe("0:42\n");
    });

    test("--network none has only loopback, up", async () => {
      const r = await run(["--rm", "--network", "none", ALPINE, "sh", "-c", "ls /sys/class/net; ip -o link show lo"]);
      expect(r.stdout.split("\n")[0]).toBe("lo");
      expect(r.stdout).toContain("UP");
    });

    test("--network host sees the host's interfaces", async () => {
      const host = readdirSync("/sys/class/net").sort();
      const r = await run(["--rm", "--network", "host", ALPINE, "ls", "/sys/class/net"]);
      expect(r.stdout.trim().split(/\s+/).sort()).toEqual(host);
    });

    test("uts: --hostname, and /etc/hostname and /etc/hosts agree", async () => {
      const r = await run(["--rm", "--network", "none", "--hostname", "box1", "--name", "named1", ALPINE, "sh", "-c", "hostname; cat /etc/hostname; grep box1 /etc/hosts"]);
      expect(r.stdout).toBe("box1\nbox1\n127.0.1.1\tbox1 named1\n");
    });

    test("ipc: the host's System V queues are not visible", async () => {
      const r = await run(["--rm", ALPINE, "cat", "/proc/sysvipc/msg"]);
      expect(r.stdout.trim().split("\n")).toHaveLength(1);
    });
  });

  describe("root filesystem", () => {
    test("/dev holds the usual devices, a private devpts, shm and mqueue", async () => {
      const r = await run(["--rm", ALPINE, "sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c; ls /dev/pts; grep -E ' /dev/(pts|shm|mqueue) ' /proc/mounts | cut -d' ' -f3"]);
      expect(r.stdout).toBe("4\nptmx\ndevpts\ntmpfs\nmqueue\n");
    });

    test("masked paths: /dev/null over a file, an empty read-only tmpfs over a directory, nothing where the kernel lacks one", async () => {
      // The container shares this host's kernel: which of the masked paths exist is what the host shows.
      const files = ["/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug"];
      const dirs = ["/proc/acpi", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"];
      const script = [
        ...files.map((f) => `stat -c '${f} %F %t,%T' ${f} 2>/dev/null || echo '${f} none'`),
        ...dirs.map((d) => `[ -d ${d} ] && echo "${d} $(ls -A ${d} | wc -l) $(touch ${d}/x 2>&1 | grep -c 'Read-only')" || echo '${d} none'`),
      ].join("; ");
      const r = await run(["--rm", ALPINE, "sh", "-c", script]);
      expect(r.code).toBe(0);
      const want = [
        ...files.map((f) => (existsSync(f) ? `${f} character special file 1,3` : `${f} none`)),
        ...dirs.map((d) => (existsSync(d) ? `${d} 0 1` : `${d} none`)),
      ];
      expect(r.stdout.trim().split("\n")).toEqual(want);
      expect(want.some((l) => !l.endsWith(" none"))).toBe(true);
    });

    test("/sys is read-only and /proc/sys cannot be written", async () => {
      const r = await run(["--rm", ALPINE, "sh", "-c", "touch /sys/x 2>&1; (echo 1 > /proc/sys/kernel/ostype) 2>&1; true"]);
      expect(r.stdout).toContain("Read-only file system");
      expect(r.stdout.match(/Read-only/g)?.length).toBe(2);
    });

    test("--read-only root, with --tmpfs still writable", async () => {
      const r = await run(["--rm", "--read-only", "--tmpfs", "/scratch:size=1m", ALPINE, "sh", "-c", "touch /x 2>&1; touch /scratch/ok && echo ok"]);
      expect(r.stdout).toContain("Read-only file system");
      expect(r.stdout).toContain("ok\n");
    });

    test("-v binds a host dir read-write and read-only", async () => {
      const dir = join(t.root, "vol");
      mkdirSync(dir);
      writeFileSync(join(dir, "in"), "host\n");
      const r = await run(["--rm", "-v", `${dir}:/data`, "-v", `${dir}:/ro:ro`, ALPINE, "sh", "-c", "cat /data/in; echo ctr > /data/out; touch /ro/x 2>&1; true"]);
      expect(r.stdout).toContain("host\n");
      expect(r.stdout).toContain("Read-only file system");
      expect(readFileSync(join(dir, "out"), "utf8")).toBe("ctr\n");
    });
  });

  describe("process", () => {
    test("--entrypoint replaces Entrypoint and drops Cmd", async () => {
      const r = await run(["--rm", "--entrypoint", "echo", ALPINE]);
      expect(r.stdout).toBe("\n");
      const r2 = await run(["--rm", "--entrypoint", "echo", ALPINE, "a", "b"]);
      expect(r2.stdout).toBe("a b\n");
    });

    test("-e, --env-file and the image's Env", async () => {
      const f = join(t.root, "env");
      writeFileSync(f, "# comment\nFROM_FILE=1\nBOTH=file\n");
      const r = await run(["--rm", "--env-file", f, "-e", "BOTH=flag", "-e", "X=y z", ALPINE, "sh", "-c", 'echo "$FROM_FILE $BOTH $X $PATH $HOME"']);
      expect(r.stdout).toBe("1 flag y z /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /root\n");
    });

    test("-w sets (and creates) the working directory", async () => {
      const r = await run(["--rm", "-w", "/new/dir", ALPINE, "pwd"]);
      expect(r.stdout).toBe("/new/dir\n");
    });

    test("-u by name, by uid:gid, and name:group, with supplementary groups", async () => {
      expect((await run(["--rm", "-u", "nobody", ALPINE, "id"])).stdout).toBe("uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\n");
      expect((await run(["--rm", "-u", "1234:42", ALPINE, "id", "-u"])).stdout).toBe("1234\n");
      expect((await run(["--rm", "-u", "daemon:shadow", ALPINE, "id", "-g"])).stdout).toBe("42\n");
      expect((await run(["--rm", ALPINE, "id", "-G"])).stdout).toBe("0 1 2 3 4 6 10 11 20 26 27\n");
    });

    test("a non-root user has no capabilities, root the default set", async () => {
      const user = await run(["--rm", "-u", "nobody", ALPINE, "grep", "CapEff", "/proc/self/status"]);
      expect(user.stdout).toMatch(/CapEff:\s+0{16}/);
      const root = await run(["--rm", ALPINE, "grep", "CapBnd", "/proc/self/status"]);
      expect(root.stdout).toMatch(/CapBnd:\s+00000000800405fb/);
    });

    test("-i passes stdin; without it stdin is empty", async () => {
      expect((await run(["--rm", "-i", ALPINE, "cat"], "piped\n")).stdout).toBe("piped\n");
      expect((await run(["--rm", ALPINE, "cat"], "piped\n")).stdout).toBe("");
    });

    test("-t gives a terminal from the container's own devpts", async () => {
      const s = Bun.spawnSync(["script", "-qec", `${RL_BIN} run -t --rm ${ALPINE} sh -c 'tty; exit 4'`, "/dev/null"], { env: t.env, stdout: "pipe" });
      expect(s.stdout.toString()).toContain("/dev/pts/0");
      expect(s.exitCode).toBe(4);
    });

    test("--init runs the workload under the host's catatonit, as podman does", async () => {
      const r = await run(["--rm", "--init", ALPINE, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; kill -9 $$"]);
      expect(r.stdout).toBe("/dev/init -- sh -c cat /proc/1/cmdline | tr '\\0' ' '; echo; echo $$; kill -9 $$ \n2\n");
      expect(r.code).toBe(137);
    });

    test("--init without catatonit on the host: rl's own init forwards, reaps and reports the exit", async () => {
      const r = await rl(["run", "--rm", "--init", ALPINE, "sh", "-c", "sleep 0 & wait; echo $$; kill -9 $$"], { env: { ...t.env, RL_INIT_BINARY: "/nonexistent" } });
      expect(r.stdout).toBe("2\n");
      expect(r.code).toBe(137);
    });

    test("--name shows in ps -a until rl rm", async () => {
      const r = await run(["--name", "keepme", ALPINE, "true"]);
      expect(r.code).toBe(0);
      const ps = await rl(["ps", "-a"], { env: t.env });
      expect(ps.stdout).toMatch(/Exited \(0\).*keepme/);
      const dup = await run(["--name", "keepme", ALPINE, "true"]);
      expect(dup.code).toBe(125);
      expect(dup.stderr).toContain('the container name "keepme" is already in use');
      expect((await rl(["rm", "keepme"], { env: t.env })).code).toBe(0);
      const after = await rl(["ps", "-a"], { env: t.env });
      expect(after.code).toBe(0);
      expect(after.stdout).not.toContain("keepme");
    });
  });

  describe("exit codes and signals", () => {
    test.each([
      [["sh", "-c", "exit 3"], 3],
      [["nosuchcommand"], 127],
      [["/etc/passwd"], 126],
      [["sh", "-c", "sleep 10 & kill -9 $!; wait $!"], 137],
    ])("%p exits %p", async (cmd, code) => {
      const r = await run(["--rm", ALPINE, ...(cmd as string[])]);
      expect(r.code).toBe(code as number);
    });

    test("command not found is one clear line", async () => {
      const r = await run(["--rm", ALPINE, "nosuchcommand"]);
      expect(r.stderr).toBe("rl: nosuchcommand: executable file not found in $PATH: No such file or directory\n");
    });

    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      test(`${sig} sent to rl reaches the container`, async () => {
        const p = Bun.spawn([RL_BIN, "run", "--rm", ALPINE, "sh", "-c", `trap 'echo got; exit 42' ${sig.slice(3)}; echo ready; while :; do sleep 0.1; done`], { env: t.env, stdout: "pipe", stderr: "pipe" });
        const reader = p.stdout.getReader();
        const first = await reader.read();
        expect(new TextDecoder().decode(first.value)).toBe("ready\n");
        p.kill(sig);
        expect(await p.exited).toBe(42);
      });
    }
  });

  describe("runtime spec", () => {
    const specs = () => (existsSync(t.env.RL_RUNROOT!) ? readdirSync(t.env.RL_RUNROOT!).filter((n) => existsSync(join(t.env.RL_RUNROOT!, n, "config.json"))) : []);

    test("a running container's OCI runtime spec is in the runtime dir (config.json, as podman keeps it); --rm removes it", async () => {
      const script = "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done";
      const p = Bun.spawn([RL_BIN, "run", "--rm", "-e", "FOO=bar", ALPINE, "sh", "-c", script], { env: t.env, stdout: "pipe", stderr: "pipe" });
      try {
        await p.stdout.getReader().read();
        // Written while the container starts: its first words can come before.
        await until("the spec", () => specs().length > 0);
        expect(specs().length).toBe(1);
        const spec = JSON.parse(readFileSync(join(t.env.RL_RUNROOT!, specs()[0]!, "config.json"), "utf8"));
        expect(spec.ociVersion).toBe("1.0.2");
        expect(spec.process.args).toEqual(["sh", "-c", script]);
        expect(spec.process.env).toContain("FOO=bar");
        expect(spec.linux.namespaces.map((n: { type: string }) => n.type)).toEqual(expect.arrayContaining(["user", "mount", "pid", "network"]));
        expect(spec.mounts.map((m: { destination: string }) => m.destination)).toEqual(expect.arrayContaining(["/proc", "/dev", "/sys", "/etc/hosts"]));
      } finally {
        p.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
      expect(specs()).toEqual([]);
    });
  });

  describe("nothing left behind", () => {
    const containers = () => (existsSync(join(t.env.RL_ROOT!, "containers")) ? readdirSync(join(t.env.RL_ROOT!, "containers")) : []);

    test("--rm removes the container, also after a failed start", async () => {
      const before = containers();
      await run(["--rm", ALPINE, "sh", "-c", "mkdir -p /a/b && chown 123 /a/b && touch /a/b/f"]);
      await run(["--rm", ALPINE, "nosuchcommand"]);
      expect(containers()).toEqual(before);
    });

    test("SIGKILL of rl takes the container down; the next rl removes its files", async () => {
      const before = containers();
      const p = Bun.spawn([RL_BIN, "run", "--rm", ALPINE, "sh", "-c", "echo ready; exec sleep 1234"], { env: t.env, stdout: "pipe" });
      await p.stdout.getReader().read();
      const sleepers = () => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", "^sleep 1234$"]).stdout.toString().trim();
      expect(sleepers()).not.toBe("");
      p.kill("SIGKILL");
      await p.exited;
      for (let i = 0; i < 50 && sleepers() !== ""; i++) await Bun.sleep(20);
      expect(sleepers()).toBe("");
      await rl(["ps", "-a"], { env: t.env });
      expect(containers()).toEqual(before);
    });
    test("rl killed after the workload started but before it recorded it as running: the next rl removes the container", async () => {
      const before = containers();
      const hook = join(t.root, "paused-before-running");
      const p = Bun.spawn([RL_BIN, "run", "--rm", ALPINE, "sleep", "1235"], { env: { ...t.env, RL_TEST_PAUSE_BEFORE_RUNNING: hook }, stdout: "ignore", stderr: "ignore" });
      while (!existsSync(hook) && p.exitCode === null) await Bun.sleep(10);
      expect(existsSync(hook)).toBe(true);
      p.kill("SIGKILL");
      await p.exited;
      rmSync(hook, { force: true });
      // The workload dies with rl (its parent-death signal), a moment later: the sweep keeps a container
      // whose first process still runs, so wait for it (bounded) before asking.
      const sleepers = () => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", "^sleep 1235$"]).stdout.toString().trim();
      for (let i = 0; i < 200 && sleepers() !== ""; i++) await Bun.sleep(10);
      expect(sleepers()).toBe("");
      // (It may have been caught before its exec, as the executor: then each rl until it is gone keeps it.)
      for (let i = 0; i < 50; i++) {
        expect((await rl(["ps", "-a"], { env: t.env })).code).toBe(0);
        if (JSON.stringify(containers()) === JSON.stringify(before)) break;
        await Bun.sleep(20);
      }
      expect(containers()).toEqual(before);
    });
    test("a container directory without a record (what a power loss can leave) goes at the next rl; a recorded one stays", async () => {
      const kept = await run(["--name", "recorded", ALPINE, "true"]);
      expect(kept.code).toBe(0);
      const recorded = containers();
      const orphan = join(t.env.RL_ROOT!, "containers", "ab".repeat(32));
      mkdirSync(join(orphan, "upper", "etc"), { recursive: true });
      writeFileSync(join(orphan, "upper", "etc", "f"), "x");
      expect((await rl(["ps", "-a"], { env: t.env })).code).toBe(0);
      expect(existsSync(orphan)).toBe(false);
      expect(containers()).toEqual(recorded);
      expect((await rl(["rm", "recorded"], { env: t.env })).code).toBe(0);
    });

    test("the running record cannot be written (the store is locked meanwhile): the started workload is ended, one error line", async () => {
      const before = containers();
      const created = () => {
        const d = new Database(join(t.env.RL_ROOT!, "rl.db"), { readonly: true });
        try {
          return (d.query("SELECT count(*) AS n FROM containers WHERE state = 'created'").get() as { n: number }).n;
        } finally {
          d.close();
        }
      };
      const hook = join(t.root, "paused-before-record");
      const sleepers = () => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", "^sleep 4321$"]).stdout.toString().trim();
      const p = Bun.spawn([RL_BIN, "run", "--rm", ALPINE, "sleep", "4321"], { env: { ...t.env, RL_TEST_PAUSE_BEFORE_RUNNING: hook, RL_LOCK_TIMEOUT_MS: "300" }, stdout: "pipe", stderr: "pipe" });
      while (!existsSync(hook) && p.exitCode === null) await Bun.sleep(10);
      expect(existsSync(hook)).toBe(true);
      // The child was released before the record: the workload starts while rl is held here.
      for (let i = 0; i < 100 && sleepers() === ""; i++) await Bun.sleep(10);
      expect(sleepers()).not.toBe("");
      const holder = Bun.spawn([process.execPath, "-e", `const {Database}=require("bun:sqlite");const d=new Database(${JSON.stringify(join(t.env.RL_ROOT!, "rl.db"))});d.exec("BEGIN IMMEDIATE");console.log("held");await Bun.sleep(3000)`], { stdout: "pipe" });
      try {
        await holder.stdout.getReader().read();
        rmSync(hook);
        expect(await p.exited).toBe(125);
        const stderr = await new Response(p.stderr).text();
        expect(stderr).toMatch(/^rl: the store .* is locked by another rl process; try again when it is done\n$/);
        expect(sleepers()).toBe("");
      } finally {
        holder.kill();
        await holder.exited;
      }
      // Its record could not go either while the store was locked: the next rl sweeps it.
      expect(created()).toBe(1);
      await rl(["ps", "-a"], { env: t.env });
      expect(created()).toBe(0);
      expect(containers()).toEqual(before);
    });
  });

  describe("errors: one line, exit 125", () => {
    const cases: [string, string[], RegExp, Record<string, string>?][] = [
      // --pull=never: a missing image would otherwise be pulled from docker.io (no traffic off this machine in tests).
      ["image not found in the store", ["--pull=never", "nosuchimage", "true"], /^rl: cannot use image nosuchimage: image nosuchimage is not in the local store \(--pull=never\)/],
      ["missing layout", ["oci:/nonexistent/layout", "true"], /no such file or directory/],
      ["unknown ref in a layout", [`oci:${FIXTURES}/oci/alpine-3.20.3:9.9`, "true"], /no image named "9.9"/],
      ["ambiguous layout", [`oci:${FIXTURES}/oci/alpine-3.20.3`, "true"], /holds 3 images: name one/],
      ["bad platform", ["--platform", "linux", ALPINE, "true"], /invalid platform "linux"/],
      ["platform not offered", ["--platform", "linux/s390x", ALPINE, "true"], /no image for platform linux\/s390x .*it has: linux\/amd64, linux\/arm64\/v8/],
      ["bind source missing", ["-v", "/nonexistent:/x", ALPINE, "true"], /bind source path does not exist: \/nonexistent/],
      ["newuidmap missing", [ALPINE, "true"], /newuidmap is not installed/, { RL_NEWUIDMAP: "/nonexistent/newuidmap" }],
      ["newuidmap not setuid", [ALPINE, "true"], /\/bin\/false is neither setuid root nor has file capabilities/, { RL_NEWUIDMAP: "/bin/false" }],
      ["unknown flag", ["--bogus", ALPINE, "true"], /^rl: unknown flag: --bogus/],
      ["flag without its value", ["--name"], /^rl: flag needs an argument: --name/],
      ["no image", [], /^rl: run needs more arguments \(see rl run --help\)$/m],
    ];
    for (const [what, args, pattern, extra] of cases) {
      test(what, async () => {
        const r = await rl(["run", "--rm", ...args], { env: { ...t.env, ...extra } });
        expect(r.code).toBe(125);
        expect(r.stderr).toMatch(pattern);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
      });
    }

    test("store not writable", async () => {
      const ro = join(t.root, "ro-store");
      mkdirSync(ro);
      chmodSync(ro, 0o500);
      const r = await rl(["run", "--rm", ALPINE, "true"], { env: { ...t.env, RL_ROOT: join(ro, "rl") } });
      chmodSync(ro, 0o700);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^rl: .*not writable/);
    });

    test("another rl holding the store's lock", async () => {
      const holder = Bun.spawn([process.execPath, "-e", `const {Database}=require("bun:sqlite");const d=new Database(${JSON.stringify(join(t.env.RL_ROOT!, "rl.db"))});d.exec("BEGIN IMMEDIATE");console.log("held");await Bun.sleep(5000)`], { stdout: "pipe" });
      await holder.stdout.getReader().read();
      const r = await rl(["run", "--rm", ALPINE, "true"], { env: { ...t.env, RL_LOCK_TIMEOUT_MS: "300" } });
      holder.kill();
      await holder.exited;
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/locked by another rl process/);
    });

    test("no subordinate ids: one warning, the user alone is mapped", async () => {
      const env = { ...makeEnvLike(t.env), RL_SUBUID_FILE: "/dev/null", RL_SUBGID_FILE: "/dev/null" };
      const r = await rl(["run", "--rm", BUSYBOX, "cat", "/proc/self/uid_map"], { env });
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split(/\s+/)).toEqual(["0", String(process.getuid!()), "1"]);
      expect(r.stderr).toMatch(/^rl: warning: no subordinate ids/);
    });
  });

  test("newuidmap refusing the range rl asks for: its own reason, nothing left behind", async () => {
    // A range this user does not own in /etc/subuid: the setuid helper itself refuses it.
    const ranges = join(t.root, "other-subuid");
    writeFileSync(ranges, `${userInfo().username}:${4_000_000_000}:65536\n`);
    const store = join(t.root, "single-id");
    const containers = () => (existsSync(join(store, "containers")) ? readdirSync(join(store, "containers")) : []);
    const before = containers();
    const r = await rl(["run", "--rm", BUSYBOX, "true"], { env: { ...makeEnvLike(t.env), RL_SUBUID_FILE: ranges } });
    expect(r.code).toBe(125);
    // (With the image not stored yet, storing it is what fails: "cannot use image ...: ...newuidmap failed".)
    expect(r.stderr).toMatch(/^rl: .*newuidmap failed: .*not allowed\n$/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(containers()).toEqual(before);
  });

  function makeEnvLike(env: Record<string, string>): Record<string, string> {
    // A separate store: layers unpacked with a single-id mapping must not mix with the full-mapping store.
    return { ...env, RL_ROOT: join(t.root, "single-id") };
  }
});
