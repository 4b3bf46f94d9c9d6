import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason, type RlResult } from "./harness";
import { makeLayeredImage } from "./layered-image";

// Every storage driver written to (issue 20): overlay, fuse-overlayfs and vfs each take the same writes,
// keep the image's layers as they were, export what the container changed, and leave nothing behind on
// any exit path (--rm, rl rm, the container killed, rl killed).

const reason = skipReason();
if (reason) console.log(`skipping storage driver integration tests: ${reason}`);

const DRIVERS = ["overlay", "fuse-overlayfs", "vfs"] as const;

/** Every process that still holds `dir`: in its command line (fuse-overlayfs's upperdir=) or in one of its mounts. */
function holders(dir: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    for (const file of ["cmdline", "mountinfo"]) {
      let text: string;
      try {
        text = readFileSync(`/proc/${pid}/${file}`, "utf8");
      } catch {
        continue; // gone meanwhile, or not ours to read
      }
      const line = text.replaceAll("\0", " ").split("\n").find((l) => l.includes(dir));
      if (line !== undefined) out.push(`${pid} ${file}: ${line}`);
    }
  }
  return out;
}

/** A process that runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

/** The filesystem type the host sees at `path` (what a vfs container's root is). */
function fsTypeOf(path: string): string {
  const r = Bun.spawnSync(["findmnt", "-n", "-o", "FSTYPE", "-T", path], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`findmnt -T ${path}: ${r.stderr}`);
  return r.stdout.toString().trim();
}

/** A listing of the store's unpacked layers: a write that reached one would show in it. */
function layersListing(layers: string): string {
  const r = Bun.spawnSync(["find", layers, "-printf", "%P %y %m %U:%G %s %T@\\n"], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`find ${layers}: ${r.stderr}`);
  return r.stdout.toString().split("\n").sort().join("\n");
}

// What the container does to its root filesystem: each write of a different kind, to files of the
// image's lower layers (the busybox base, and the layered image's two layers in /data).
const WRITES = [
  "set -e",
  "cd /data",
  "echo created > created",
  "mkdir newdir",
  "echo inside > newdir/f",
  "echo appended >> opaque/new", // copy-up of a file of the top layer
  "echo extra:x:1234: >> /etc/group", // copy-up of a file of the base layer
  "rm suid",
  "rm -r keep /etc/network", // a directory of the top layer, a tree of the base layer
  "chmod 640 /etc/localtime",
  "chown 1000:1000 owned42",
  "mv link/inside moved",
  "mv /var/spool /var/spool2",
  "ln created created-link",
  "ln /etc/passwd passwd-link", // a hardlink to a lower file
].join("\n");

const SHOW = [
  "stat -c '%n %u:%g %a %h' created created-link passwd-link /etc/passwd owned42 /etc/localtime moved newdir/f",
  "stat -c '%n %u:%g %a' /var/spool2/mail",
  "cat opaque/new",
  "tail -n 1 /etc/group",
  "ls -A /data /var | tr '\\n' ' '; echo",
  "ls -d /etc/network /data/keep /var/spool 2>&1 | sort",
].join("\n");

const SHOWN = [
  "created 0:0 644 2",
  "created-link 0:0 644 2",
  "passwd-link 0:0 644 2",
  "/etc/passwd 0:0 644 2",
  "owned42 1000:1000 644 1",
  "/etc/localtime 0:0 640 1",
  "moved 0:0 644 1",
  "newdir/f 0:0 644 1",
  "/var/spool2/mail 8:8 755",
  "only this",
  "appended",
  "extra:x:1234:",
  "/data: created created-link fifo link moved newdir opaque owned42 passwd-link  /var: spool2 www ",
  "ls: /data/keep: No such file or directory",
  "ls: /etc/network: No such file or directory",
  "ls: /var/spool: No such file or directory",
  "",
].join("\n");

describe.skipIf(Boolean(reason))("storage drivers", () => {
  const t = makeEnv();
  let image = "";
  const run = (args: string[], env: Record<string, string> = {}) => rl(["run", ...args], { env: { ...t.env, ...env } });
  const containersDir = () => join(t.env.RL_ROOT!, "containers");
  const containers = () => (existsSync(containersDir()) ? readdirSync(containersDir()).sort() : []);
  /** The record of a container (by name) as `rl ps -a` shows it. */
  const psEntry = async (name: string) => {
    const r = await rl(["ps", "-a", "--format", "json"], { env: t.env });
    expect(r.code).toBe(0);
    const e = (JSON.parse(r.stdout) as { Id: string; Names: string[]; Pid: number | null; State: string }[]).find((c) => c.Names[0] === name);
    if (!e) throw new Error(`no container ${name} in ps -a: ${r.stdout}`);
    return e;
  };

  beforeAll(async () => {
    image = makeLayeredImage(join(t.root, "layered"));
    for (const ref of [image, ALPINE]) {
      const r = await run(["--rm", "--network", "none", ref, "true"]);
      expect({ ref, ...r }).toEqual({ ref, code: 0, stdout: "", stderr: "" });
    }
  });
  afterAll(() => t.cleanup());

  test("each driver is the root filesystem --storage-driver names; writes work and --rm takes them", async () => {
    // vfs is a copy in the store: its root shows the store's own filesystem, whatever that is here.
    const fstype: Record<string, string> = { overlay: "overlay", "fuse-overlayfs": "fuse.fuse-overlayfs", vfs: fsTypeOf(t.env.RL_ROOT!) };
    for (const driver of DRIVERS) {
      const r = await run(["--rm", "--network", "none", "--storage-driver", driver, ALPINE, "sh", "-c", "echo hi > /f && cat /f && grep ' / ' /proc/mounts | cut -d' ' -f3"]);
      expect({ driver, ...r }).toEqual({ driver, code: 0, stdout: `hi\n${fstype[driver]}\n`, stderr: "" });
    }
    expect(containers()).toEqual([]);
  });

  test("every driver shows the same tree: whiteouts, opaque dirs, hardlinks, owners, setuid, fifos", async () => {
    const show = "cd /data && find . | sort && stat -c '%n %u:%g %a %h %F' $(find . | sort) && cat opaque/new keep/hardlink link/inside";
    const seen: Record<string, string> = {};
    for (const driver of DRIVERS) {
      const r = await run(["--rm", "--network", "none", "--storage-driver", driver, image, "sh", "-c", show]);
      expect({ driver, code: r.code, stderr: r.stderr }).toEqual({ driver, code: 0, stderr: "" });
      seen[driver] = r.stdout;
    }
    // Directory link counts differ by design: overlay says 1 for a merged dir, fuse-overlayfs for all.
    const dirLinks = (out: string) => out.replace(/ \d+ directory$/gm, " directory");
    expect(dirLinks(seen.vfs!)).toBe(dirLinks(seen.overlay!));
    expect(dirLinks(seen["fuse-overlayfs"]!)).toBe(dirLinks(seen.overlay!));
    const lines = seen.vfs!.split("\n");
    expect(lines).not.toContain("./gone");
    expect(lines).not.toContain("./opaque/old");
    expect(lines).toContain("./opaque/new 0:0 644 1 regular file");
    expect(lines).toContain("./keep/hardlink 0:0 644 2 regular file");
    expect(lines).toContain("./owned42 42:42 644 1 regular file");
    expect(lines).toContain("./suid 0:0 4755 1 regular file");
    expect(lines).toContain("./fifo 0:0 644 1 fifo");
    expect(lines).toContain("./link 0:0 755 2 directory"); // a symlink below, a directory above
    expect(seen.vfs).toEndWith("only this\nkept\na dir now\n");
    // --rm took the vfs copy (files owned by 42 included) with it.
    expect(containers()).toEqual([]);
  });

  for (const driver of DRIVERS) {
    describe(driver, () => {
      test("written to: the container sees each write, the layers stay as they were, export shows the changes, rm leaves nothing", async () => {
        const layersBefore = layersListing(join(t.env.RL_ROOT!, "layers"));
        const name = `written-${driver}`;
        const w = await run(["--name", name, "--network", "none", "--storage-driver", driver, image, "sh", "-c", `${WRITES}\n${SHOW}`]);
        expect(w).toEqual({ code: 0, stdout: SHOWN, stderr: "" });

        // A second container on the same layers sees none of it.
        const fresh = await run(["--rm", "--network", "none", "--storage-driver", driver, image, "sh", "-c", "cat /data/opaque/new; tail -n 1 /etc/group; stat -c '%n %u:%g %a %h' /data/owned42 /etc/localtime /etc/passwd; ls -A /data /var | tr '\\n' ' '; echo; ls -d /etc/network /data/keep/file /data/link/inside /var/spool/mail"]);
        expect(fresh).toEqual({
          code: 0,
          stdout: "only this\nnobody:x:65534:\n/data/owned42 42:42 644 1\n/etc/localtime 0:0 644 1\n/etc/passwd 0:0 644 1\n/data: fifo keep link opaque owned42 suid  /var: spool www \n/data/keep/file\n/data/link/inside\n/etc/network\n/var/spool/mail\n",
          stderr: "",
        });
        expect(layersListing(join(t.env.RL_ROOT!, "layers"))).toBe(layersBefore);

        const { Id: id } = await psEntry(name);
        const dir = join(containersDir(), id);
        const tar = join(t.root, `${name}.tar`);
        const e = await rl(["export", "-o", tar, name], { env: t.env });
        expect(e).toEqual({ code: 0, stdout: "", stderr: "" });
        const listing = Bun.spawnSync(["tar", "--numeric-owner", "-tvf", tar]).stdout.toString().trim().split("\n");
        const entry = (path: string) => listing.find((l) => l.endsWith(` ${path}`) || l.includes(` ${path} link to `));
        const names = listing.map((l) => l.replace(/^.*? \d\d:\d\d /, "").replace(/ (link to|->) .*$/, ""));
        const linked = (a: string, b: string) => listing.some((l) => l.endsWith(` ${a} link to ${b}`) || l.endsWith(` ${b} link to ${a}`));
        expect(entry("data/created")).toStartWith("-rw-r--r-- 0/0 ");
        expect(linked("data/created", "data/created-link")).toBe(true);
        expect(linked("etc/passwd", "data/passwd-link")).toBe(true);
        expect(entry("data/newdir/")).toStartWith("drwxr-xr-x 0/0 ");
        expect(entry("data/newdir/f")).toStartWith("-rw-r--r-- 0/0 ");
        expect(entry("data/owned42")).toStartWith("-rw-r--r-- 1000/1000 ");
        expect(entry("etc/localtime")).toStartWith("-rw-r----- 0/0 ");
        expect(entry("data/moved")).toStartWith("-rw-r--r-- 0/0 ");
        expect(entry("var/spool2/mail/")).toStartWith("drwxr-xr-x 8/8 ");
        // What was deleted or renamed away is not there, and no whiteout stands in for it.
        for (const gone of ["data/suid", "data/keep/", "data/keep/file", "etc/network/", "data/link/inside", "var/spool/", "var/spool/mail/"]) {
          expect({ gone, found: names.includes(gone) }).toEqual({ gone, found: false });
        }
        expect(names.filter((n) => /(^|\/)\.wh\./.test(n))).toEqual([]);
        expect(listing.filter((l) => l.startsWith("c"))).toEqual([]);
        expect(names).toContain("data/link/");
        const content = (path: string) => Bun.spawnSync(["tar", "-xOf", tar, path]).stdout.toString();
        expect(content("data/opaque/new")).toBe("only this\nappended\n");
        expect(content("etc/group")).toEndWith("\nextra:x:1234:\n");

        expect(existsSync(join(dir, driver === "vfs" ? "rootfs" : "upper"))).toBe(true);
        expect(await rl(["rm", name], { env: t.env })).toEqual({ code: 0, stdout: `${id}\n`, stderr: "" });
        expect(existsSync(dir)).toBe(false);
        expect(holders(dir)).toEqual([]);
      });

      test("a start that fails once the root is mounted (no such command): 127, nothing left", async () => {
        const before = containers();
        const r = await run(["--rm", "--network", "none", "--storage-driver", driver, image, "nosuchcommand"]);
        expect(r).toEqual({ code: 127, stdout: "", stderr: "rl: nosuchcommand: executable file not found in $PATH: No such file or directory\n" });
        expect(containers()).toEqual(before);
        expect(holders(containersDir())).toEqual([]);
      });

      /** A container of `rl run --rm` running `script` until it printed `ready`; its root is mounted (and served by a fuse-overlayfs of its own). */
      const startRunning = async (name: string, args: string[], script: string, ready: string) => {
        const p = Bun.spawn([RL_BIN, "run", "--rm", "--name", name, ...args, "--network", "none", "--storage-driver", driver, image, "sh", "-c", script], { env: t.env, stdout: "pipe", stderr: "pipe" });
        const c = { p, pid: 0, dir: "" };
        try {
          const first = await p.stdout.getReader().read();
          expect(new TextDecoder().decode(first.value)).toBe(ready);
          const e = await psEntry(name);
          c.pid = e.Pid!;
          c.dir = join(containersDir(), e.Id);
          const held = holders(c.dir);
          expect(held.length).toBeGreaterThan(0);
          if (driver === "fuse-overlayfs") expect(held.some((h) => /cmdline: \S*fuse-overlayfs /.test(h))).toBe(true);
        } catch (err) {
          await stop(c);
          throw err;
        }
        return c;
      };
      const stop = async (c: { p: Bun.Subprocess; pid: number }) => {
        if (c.p.exitCode === null) c.p.kill("SIGKILL");
        await c.p.exited;
        // Root of its user namespace owns the container's processes: this test's user may end them.
        if (c.pid && alive(c.pid)) process.kill(c.pid, "SIGKILL");
      };

      test("the container killed: rl reports 137 and --rm leaves no mount, no process, no directory", async () => {
        const c = await startRunning(`killed-${driver}`, [], `${WRITES}\necho ready; exec sleep 120`, "ready\n");
        try {
          process.kill(c.pid, "SIGKILL");
          expect(await c.p.exited).toBe(137);
          expect(await new Response(c.p.stderr).text()).toBe("");
          expect(holders(c.dir)).toEqual([]);
          expect(existsSync(c.dir)).toBe(false);
        } finally {
          await stop(c);
        }
      });

      test("rl SIGKILLed while a workload of another user runs: the container, its mount and its fuse-overlayfs go", async () => {
        const c = await startRunning(`orphaned-${driver}`, ["--user", "1000:1000"], "echo written > /tmp/f && cat /tmp/f && exec sleep 120", "written\n");
        try {
          c.p.kill("SIGKILL");
          await c.p.exited;
          // The kernel ends the container's processes once rl is gone: wait for that, within bounds.
          for (let i = 0; i < 100 && (alive(c.pid) || holders(c.dir).length > 0); i++) await Bun.sleep(20);
          expect(holders(c.dir)).toEqual([]);
          expect(alive(c.pid)).toBe(false);
          // The next rl removes what the killed one left.
          expect(existsSync(c.dir)).toBe(true);
          expect((await rl(["ps", "-a"], { env: t.env })).code).toBe(0);
          expect(existsSync(c.dir)).toBe(false);
        } finally {
          await stop(c);
        }
      });
    });
  }

  describe("errors: one line, exit 125, nothing left", () => {
    const cases: [string, string[], string, Record<string, string>?][] = [
      ["--storage-driver bogus", ["--storage-driver", "bogus"], 'rl: unknown storage driver "bogus": use overlay, fuse-overlayfs or vfs\n'],
      ["RL_STORAGE_DRIVER=bogus", [], 'rl: unknown RL_STORAGE_DRIVER "bogus": use overlay, fuse-overlayfs or vfs\n', { RL_STORAGE_DRIVER: "bogus" }],
      // rl finds fuse-overlayfs on PATH, as podman does; newuidmap is looked for in /usr/bin as well.
      ["fuse-overlayfs not installed", ["--storage-driver", "fuse-overlayfs"], "rl: cannot use the storage driver fuse-overlayfs: fuse-overlayfs is not installed (Debian/Ubuntu: apt install fuse-overlayfs)\n", { PATH: "/nonexistent" }],
    ];
    for (const [what, args, stderr, env] of cases) {
      test(what, async () => {
        const before = containers();
        const r: RlResult = await run(["--rm", "--network", "none", ...args, ALPINE, "true"], env);
        expect(r).toEqual({ code: 125, stdout: "", stderr });
        expect(containers()).toEqual(before);
      });
    }

    test("fuse-overlayfs failing: its own words, then rl's line", async () => {
      const bin = join(t.root, "failing-bin");
      mkdirSync(bin);
      writeFileSync(join(bin, "fuse-overlayfs"), "#!/bin/sh\necho 'fuse-overlayfs: cannot mount (a stand-in that fails)' >&2\nexit 1\n", { mode: 0o755 });
      const before = containers();
      const r = await run(["--rm", "--network", "none", "--storage-driver", "fuse-overlayfs", ALPINE, "true"], { PATH: `${bin}:${process.env.PATH}` });
      expect(r).toEqual({ code: 125, stdout: "", stderr: `fuse-overlayfs: cannot mount (a stand-in that fails)\nrl: cannot mount the root filesystem with ${bin}/fuse-overlayfs: Input/output error (EIO)\n` });
      expect(containers()).toEqual(before);
    });

    test("without fuse-overlayfs the default is still kernel overlay", async () => {
      const r = await run(["--rm", "--network", "none", ALPINE, "sh", "-c", "grep ' / ' /proc/mounts | cut -d' ' -f3"], { PATH: "/nonexistent" });
      expect(r).toEqual({ code: 0, stdout: "overlay\n", stderr: "" });
    });
  });
});
