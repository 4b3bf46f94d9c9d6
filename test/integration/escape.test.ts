import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { concat, TAR_END, tarHeader, tarPadding } from "../../cli/lib/image/tar-writer";
import { ALPINE, makeEnv, REPO, rl, RL_BIN, skipReason } from "./harness";

// What a container may try against the user who runs it, each checked from inside a container under
// rl's defaults. The probe (escape-probe.c, built statically here) does what busybox cannot.

const reason = skipReason() ?? (Bun.which("gcc") && Bun.which("script") ? undefined : "needs gcc (with libc6-dev) and script (util-linux)");
if (reason) console.log(`skipping escape tests: ${reason}`);

const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

describe.skipIf(Boolean(reason))("escape", () => {
  const t = makeEnv();
  const probeDir = () => join(t.root, "probe");
  const withProbe = () => ["-v", `${probeDir()}:/probe:ro`];
  const containers = async () => (await rl(["ps", "-a", "-q"], { env: t.env })).stdout;

  /** rl under a real terminal (script(1) gives it a pty as fds 0-2), as a user runs it in a shell. */
  async function inTerminal(args: string[], o: { input?: string; env?: Record<string, string> } = {}) {
    const cmd = [RL_BIN, ...args].map(quote).join(" ");
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], {
      env: { ...t.env, ...o.env },
      stdin: o.input === undefined ? "ignore" : new TextEncoder().encode(o.input),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return { code, out: out.replaceAll("\r\n", "\n") };
  }

  beforeAll(async () => {
    mkdirSync(probeDir());
    const cc = Bun.spawnSync(["gcc", "-static", "-O2", "-o", join(probeDir(), "probe"), join(REPO, "test/integration/escape-probe.c")], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(`cannot build the probe: ${cc.stderr}`);
    const r = await rl(["run", "--rm", ALPINE, "true"], { env: t.env });
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });
  afterAll(() => t.cleanup());

  describe("the user's terminal and session (run in a terminal, without -t)", () => {
    const start: [string, string[], Record<string, string>][] = [
      ["the executor program", [], {}],
      ["a copy of rl", [], { RL_TEST_EXECUTOR_PROGRAM: "/etc/hostname" }],
      ["-i", ["-i"], {}],
      ["--init, the host's catatonit", ["--init"], {}],
      ["--init, rl's own", ["--init"], { RL_INIT_BINARY: "" }],
    ];
    test.each(start)("from inside a default container (%s): cannot open /dev/tty, cannot TIOCSTI, has a session of its own", async (_, flags, env) => {
      const r = await inTerminal(["run", "--rm", ...flags, ...withProbe(), ALPINE, "/probe/probe", "tty"], { env });
      expect(r.out).toBe(
        "open /dev/tty: ENXIO\nTIOCSTI on fd 0: ENOTTY\nTIOCSTI on fd 1: ENOTTY\nTIOCSTI on fd 2: ENOTTY\nsession: its own\n",
      );
      expect(r.code).toBe(0);
    });

    test("output and stderr still reach the terminal, -i input still flows in, and the exit code is the container's", async () => {
      // ^D ends the input, as a user typing it would.
      const r = await inTerminal(["run", "--rm", "-i", ALPINE, "sh", "-c", "read x; echo got:$x; echo oops >&2; exit 3"], { input: "hello\n\x04" });
      expect(r.out).toContain("got:hello\n");
      expect(r.out).toContain("oops\n");
      expect(r.code).toBe(3);
    });

    test("output that fills the pipe many times over arrives whole before rl exits", async () => {
      const r = await inTerminal(["run", "--rm", ALPINE, "sh", "-c", "seq 1 50000; exit 7"]);
      const lines = r.out.trimEnd().split("\n");
      expect(lines.length).toBe(50000);
      expect(lines.at(-1)).toBe("50000");
      expect(r.code).toBe(7);
    });
  });

  test("from inside a default container: the user's session keyring and its keys cannot be seen", async () => {
    const probe = join(probeDir(), "probe");
    // The probe itself, in the keyring it made: the key is there to be found.
    const host = Bun.spawnSync([probe, "addkey", "rl-escape-key", probe, "keyring", "rl-escape-key"]);
    expect(host.stdout.toString()).toBe("find key rl-escape-key: ok\n");
    // The default seccomp filter refuses keyctl; without it the container's own session keyring has no such key.
    const inside = Bun.spawnSync([probe, "addkey", "rl-escape-key", RL_BIN, "run", "--rm", ...withProbe(), ALPINE, "/probe/probe", "keyring", "rl-escape-key"], { env: t.env, stderr: "pipe" });
    expect(inside.stderr.toString()).toBe("");
    expect(inside.stdout.toString()).toBe("find key rl-escape-key: EPERM\n");
    const unfiltered = Bun.spawnSync([probe, "addkey", "rl-escape-key", RL_BIN, "run", "--rm", "--security-opt", "seccomp=unconfined", ...withProbe(), ALPINE, "/probe/probe", "keyring", "rl-escape-key"], { env: t.env, stderr: "pipe" });
    expect(unfiltered.stderr.toString()).toBe("");
    expect(unfiltered.stdout.toString()).toBe("find key rl-escape-key: ENOKEY\n");
  });

  test("from inside a default container: a submount under a :ro bind cannot be written (-v /:/host:ro, /host/dev/shm)", async () => {
    const name = `rl-escape-${process.pid}`;
    try {
      const r = await rl(["run", "--rm", "-v", "/:/host:ro", ALPINE, "sh", "-c", `touch /host/dev/shm/${name}; touch /host/tmp/${name}`], { env: t.env });
      expect(r.stderr).toBe(`touch: /host/dev/shm/${name}: Read-only file system\ntouch: /host/tmp/${name}: Read-only file system\n`);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    } finally {
      rmSync(`/dev/shm/${name}`, { force: true });
      rmSync(`/tmp/${name}`, { force: true });
    }
  });

  test("the same where the kernel has no mount_setattr (before 5.12): each submount is made read-only", async () => {
    const name = `rl-escape-old-kernel-${process.pid}`;
    const none = join(t.root, "no-subids-ro");
    writeFileSync(none, "");
    try {
      // no_new_privs stops setuid newuidmap (the single-id mapping needs no helper) and the executor
      // program's capabilities as root of the namespace when it execs itself (a copy of rl needs no exec).
      const r = Bun.spawnSync([join(probeDir(), "probe"), "no-mount-setattr", RL_BIN, "run", "--rm", "--network", "none", "-v", "/:/host:ro", ALPINE, "sh", "-c", `touch /host/dev/shm/${name}; touch /host/tmp/${name}`], {
        env: { ...t.env, RL_SUBUID_FILE: none, RL_SUBGID_FILE: none, RL_TEST_EXECUTOR_PROGRAM: "/etc/hostname" },
        stderr: "pipe",
      });
      expect(r.stderr.toString()).toEndWith(`touch: /host/dev/shm/${name}: Read-only file system\ntouch: /host/tmp/${name}: Read-only file system\n`);
      expect(existsSync(`/dev/shm/${name}`)).toBe(false);
    } finally {
      rmSync(`/dev/shm/${name}`, { force: true });
      rmSync(`/tmp/${name}`, { force: true });
    }
  });

  describe("an image whose /proc, /sys, /dev or /etc files are symlinks to host paths", () => {
    const marker = () => join(t.root, "marker");
    /** Import a busybox root filesystem whose `links` (path in the image -> target) are absolute symlinks. */
    async function imageWith(ref: string, links: Record<string, string>): Promise<void> {
      const dir = join(t.root, `rootfs-${ref}`);
      if (existsSync(dir)) return; // made by an earlier test
      mkdirSync(join(dir, "bin"), { recursive: true });
      mkdirSync(join(dir, "etc"));
      copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
      for (const app of ["sh", "cat", "ls", "echo"]) symlinkSync("busybox", join(dir, "bin", app));
      for (const [path, target] of Object.entries(links)) symlinkSync(target, join(dir, path));
      const tar = Bun.spawnSync(["tar", "-C", dir, "--numeric-owner", "--owner=0", "--group=0", "-cf", `${dir}.tar`, "."]);
      expect(tar.exitCode).toBe(0);
      const r = await rl(["import", "--change", 'CMD ["/bin/sh"]', `${dir}.tar`, ref], { env: t.env });
      expect(r).toMatchObject({ code: 0, stderr: "" });
    }
    /** Every path under the marker directory, with each file's content. */
    const snapshot = (dir = marker()): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const p = join(dir, e.name);
        return e.isDirectory() ? [`${p}/`, ...snapshot(p)] : [`${p}: ${e.isFile() ? readFileSync(p, "utf8") : "not a file"}`];
      });

    beforeAll(() => {
      for (const d of ["proc/sys", "sys", "dev"]) mkdirSync(join(marker(), d), { recursive: true });
      writeFileSync(join(marker(), "proc/sys/secret"), "host secret\n");
      writeFileSync(join(marker(), "hosts"), "host file\n");
      writeFileSync(join(marker(), "resolv.conf"), "host file\n");
    });

    test.each([
      ["proc", "proc on /proc in the container"],
      ["sys", "/sys"],
      ["dev", "tmpfs on /dev in the container"],
    ])("/%s -> a host directory: a clear error, and nothing of the host is shown or changed", async (dir, what) => {
      await imageWith(`link-${dir}`, { [dir]: join(marker(), dir) });
      const before = snapshot(), containersBefore = await containers();
      const r = await rl(["run", "--rm", `link-${dir}`, "sh", "-c", `cat /proc/sys/secret; ls /${dir}`], { env: t.env });
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`rl: cannot mount ${what}: /${dir} is a symlink in the image; it must be a directory\n`);
      expect(r.code).toBe(125);
      expect(snapshot()).toEqual(before);
      expect(await containers()).toEqual(containersBefore);
    });

    test.each([
      ["-v", "DIR:/data"],
      ["--tmpfs", "/data"],
    ])("a mount (%s %s) onto a symlink of the image's that leads into /proc is refused as -v onto /proc is", async (flag, spec) => {
      await imageWith("link-into-proc", { data: "/proc/sys" });
      const dir = join(t.root, "into-proc");
      mkdirSync(dir, { recursive: true });
      const r = await rl(["run", "--rm", flag, spec.replace("DIR", dir), "link-into-proc", "ls", "/proc/sys"], { env: t.env });
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`rl: cannot ${flag === "-v" ? `bind mount ${dir}` : "mount tmpfs"} on /data in the container: /data leads into /proc through a symlink of the image's, which the container's own proc filesystem covers\n`);
      expect(r.code).toBe(125);
    });

    test("/etc/hosts and /etc/resolv.conf -> host files: the container runs with its own, the host files are untouched", async () => {
      await imageWith("link-etc", { "etc/hosts": join(marker(), "hosts"), "etc/resolv.conf": join(marker(), "resolv.conf") });
      const before = snapshot();
      const r = await rl(["run", "--rm", "link-etc", "sh", "-c", "echo hi > /etc/hosts && cat /etc/hosts /etc/resolv.conf | head -n 1"], { env: t.env });
      expect(r).toMatchObject({ code: 0, stdout: "hi\n", stderr: "" });
      expect(snapshot()).toEqual(before);
    });
  });

  describe("user ids outside the container's mapping", () => {
    test("-u 4294967295 (setresuid's 'no change') is refused: it would run as root", async () => {
      const r = await rl(["run", "--rm", "-u", "4294967295", ALPINE, "id", "-u"], { env: t.env });
      expect(r).toEqual({ code: 125, stdout: "", stderr: "rl: cannot run as uid 4294967295: the container's uids are 0-65536 (your own and the subordinate ones in /etc/subuid)\n" });
    });

    test("an image whose User is 4294967295 is refused the same way", async () => {
      const dir = join(t.root, "user-image");
      mkdirSync(join(dir, "bin"), { recursive: true });
      copyFileSync("/bin/busybox", join(dir, "bin/busybox"));
      const tar = Bun.spawnSync(["tar", "-C", dir, "--numeric-owner", "--owner=0", "--group=0", "-cf", `${dir}.tar`, "."]);
      expect(tar.exitCode).toBe(0);
      expect((await rl(["import", "--change", "USER 4294967295", `${dir}.tar`, "big-user"], { env: t.env })).code).toBe(0);
      const r = await rl(["run", "--rm", "big-user", "/bin/busybox", "id", "-u"], { env: t.env });
      expect(r).toMatchObject({ code: 125, stdout: "" });
      expect(r.stderr).toStartWith("rl: cannot run as uid 4294967295: ");
    });

    test("-g beyond the mapping, through -u UID:GID, is refused too; ids inside it still work", async () => {
      expect((await rl(["run", "--rm", "-u", "1000:70000", ALPINE, "id"], { env: t.env })).stderr).toStartWith("rl: cannot run as gid 70000: ");
      expect(await rl(["run", "--rm", "-u", "1000:1000", ALPINE, "id", "-u"], { env: t.env })).toEqual({ code: 0, stdout: "1000\n", stderr: "" });
    });

    test("a user with no subordinate ids asking for -u 1000 is told why it cannot", async () => {
      const none = join(t.root, "no-subids");
      writeFileSync(none, "");
      const r = await rl(["run", "--rm", "-u", "1000", ALPINE, "id", "-u"], { env: { ...t.env, RL_SUBUID_FILE: none, RL_SUBGID_FILE: none } });
      expect(r.code).toBe(125);
      expect(r.stderr).toEndWith(
        "rl: cannot run as uid 1000: this user has no subordinate ids in /etc/subuid and /etc/subgid, so the container has only uid 0 and gid 0 (ask for a range, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER)\n",
      );
    });
  });

  describe("mount targets that would cover /proc or rl's /dev", () => {
    test.each([
      ["-v", "DIR:/dev", "a bind mount cannot replace /dev (rl fills it with device nodes); mount onto a path under /dev instead"],
      ["-v", "DIR:/proc", "/proc is inside /proc, which the container's own proc filesystem covers"],
      ["-v", "DIR:/proc/sys/", "/proc/sys is inside /proc, which the container's own proc filesystem covers"],
      ["--tmpfs", "/proc/sys/kernel", "/proc/sys/kernel is inside /proc, which the container's own proc filesystem covers"],
    ])("%s %s is refused with one line, exit 125, before anything is made", async (flag, spec, why) => {
      const dir = join(t.root, "target-dir");
      mkdirSync(dir, { recursive: true });
      const value = spec.replace("DIR", dir);
      const before = await containers();
      const r = await rl(["run", "--rm", flag, value, ALPINE, "true"], { env: t.env });
      const what = flag === "-v" ? "volume" : "tmpfs mount";
      expect(r).toEqual({ code: 125, stdout: "", stderr: `rl: invalid ${what} ${JSON.stringify(value)}: ${why}\n` });
      expect(readdirSync(dir)).toEqual([]);
      expect(await containers()).toEqual(before);
    });

    test("a volume under /dev still works and gets no device placeholders", async () => {
      const dir = join(t.root, "under-dev");
      mkdirSync(dir);
      const r = await rl(["run", "--rm", "-v", `${dir}:/dev/data`, ALPINE, "sh", "-c", "echo hi > /dev/data/f && ls /dev/data"], { env: t.env });
      expect(r).toEqual({ code: 0, stdout: "f\n", stderr: "" });
      expect(readdirSync(dir)).toEqual(["f"]);
    });
  });

  describe("/dev and /sys as podman shows them", () => {
    test("from inside a default container: nothing on /dev can be executed (noexec)", async () => {
      const r = await rl(["run", "--rm", ALPINE, "sh", "-c", "cp /bin/busybox /dev/bb && /dev/bb true"], { env: t.env });
      expect(r.stderr).toContain("/dev/bb: Permission denied");
      expect(r.code).toBe(126);
    });

    test("from inside a default container: /sys/dev/block is masked (empty)", async () => {
      const r = await rl(["run", "--rm", ALPINE, "ls", "-A", "/sys/dev/block"], { env: t.env });
      expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    });
  });

  describe("file capabilities in a layer (security.capability), kept as podman keeps them", () => {
    beforeAll(async () => {
      // A v2 capability xattr (as setcap writes it on a host) granting CAP_NET_BIND_SERVICE (bit 10),
      // permitted and effective, on a busybox called grep.
      const cap = new Uint8Array(20);
      new DataView(cap.buffer).setUint32(0, 0x02000001, true);
      new DataView(cap.buffer).setUint32(4, 1 << 10, true);
      const bb = readFileSync("/bin/busybox");
      const file = (path: string, xattrs?: Record<string, Uint8Array>) => [tarHeader({ path, type: "file", size: bb.length, mode: 0o755, xattrs }), bb, tarPadding(bb.length)];
      const tar = join(t.root, "caps.tar");
      writeFileSync(tar, concat([tarHeader({ path: "bin/", type: "dir", mode: 0o755 }), ...file("bin/busybox"), ...file("bin/grep", { "security.capability": cap }), TAR_END]));
      expect(await rl(["import", tar, "file-caps"], { env: t.env })).toMatchObject({ code: 0, stderr: "" });
    });

    test("a non-root user running the file gets its capability, within the bounding set", async () => {
      const r = await rl(["run", "--rm", "-u", "1000", "file-caps", "/bin/grep", "CapEff", "/proc/self/status"], { env: t.env });
      expect(r).toEqual({ code: 0, stdout: "CapEff:\t0000000000000400\n", stderr: "" });
    });

    test("with the capability dropped from the bounding set (--cap-drop), the file cannot bring it back: its exec is refused", async () => {
      const r = await rl(["run", "--rm", "-u", "1000", "--cap-drop", "NET_BIND_SERVICE", "file-caps", "/bin/grep", "CapEff", "/proc/self/status"], { env: t.env });
      expect(r).toEqual({ code: 126, stdout: "", stderr: "rl: /bin/grep: Operation not permitted (EPERM)\n" });
    });
  });
});
