import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { parseSubIds } from "../../cli/lib/security/idmap";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";
import { swapRacer, tar } from "./hostile-inputs";

const reason = skipReason();
if (reason) console.log(`skipping cp tests: ${reason}`);
const noGcc = Bun.which("gcc") === null;
if (noGcc) console.log("skipping the cp race test: gcc is not installed");

/** The files every container of these tests starts with (alpine's sh). */
const SETUP = [
  "mkdir -p /d/sub",
  "echo hi > /d/f",
  "chmod 640 /d/f",
  "touch -d '2001-09-09 01:46:40' /d/f",
  "echo g > /d/sub/g",
  "ln -s f /d/fl",
  "ln /d/f /d/hard",
  "adduser -D -u 1000 bob",
  "echo bobs > /d/bob",
  "chown 1000:1000 /d/bob",
  "chmod 600 /d/bob",
  "echo '#!/bin/sh' > /d/suid",
  "chmod 4755 /d/suid",
  // Whiteouts over the image's files in the container's writable layer.
  "rm /etc/motd",
  "rm -r /etc/apk/keys",
].join(" && ");

describe.skipIf(Boolean(reason))("rl cp", () => {
  const t = makeEnv();
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  let work = "";
  /** bash in the work directory, with $RL. */
  const sh = (script: string) => {
    const p = Bun.spawnSync(["bash", "-c", script], { env: { ...t.env, RL: RL_BIN }, cwd: work, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  /** `tar -tv --numeric-owner` of what `rl cp CTR:PATH -` writes: "mode uid/gid name" lines. */
  const listing = (src: string) => {
    const s = sh(`"$RL" cp ${src} - | tar -tv --numeric-owner`);
    expect(s).toMatchObject({ code: 0, stderr: "" });
    return s.stdout.split("\n").filter(Boolean).map((l) => l.replace(/^(\S+) (\S+)\s+\d+ \S+ \S+ /, "$1 $2 "));
  };
  const content = (src: string) => sh(`"$RL" cp ${src} - | tar -xO`).stdout;
  const started: Subprocess[] = [];
  const containers = ["stopped", "running"];

  /** `rl run --name NAME ... sh -c "SCRIPT; echo ready; sleep"` in the background, once it says ready. */
  async function startRunning(name: string, args: string[], script: string): Promise<void> {
    containers.push(name);
    const p = Bun.spawn([RL_BIN, "run", "--name", name, ...args, "sh", "-c", `${script} && echo ready && exec sleep 1000`], { env: t.env, stdout: "pipe", stderr: "pipe" });
    started.push(p);
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    const first = await Promise.race([reader.read(), p.exited.then(async () => ({ value: new TextEncoder().encode(`exited: ${await new Response(p.stderr).text()}`) }))]);
    expect(new TextDecoder().decode(first.value)).toBe("ready\n");
    reader.releaseLock();
    await until(`${name} to show as Up`, async () => (await r(["ps", "--format", "{{.Names}} {{.Status}}"])).stdout.includes(`${name} Up`));
  }

  beforeAll(async () => {
    work = join(t.root, "work");
    mkdirSync(work);
    expect(await r(["run", "--name", "stopped", ALPINE, "sh", "-c", SETUP])).toMatchObject({ code: 0 });
    await startRunning("running", [ALPINE], SETUP);
  });

  afterAll(async () => {
    for (const p of started) p.kill("SIGKILL");
    await Promise.all(started.map((p) => p.exited));
    await r(["rm", "-f", ...containers]);
    await t.cleanup();
  });

  describe.each(["stopped", "running"])("a %s container", (c) => {
    test("a file out: its content, mode and time; mine on the host", () => {
      expect(sh(`"$RL" cp ${c}:/d/f f-${c}`)).toEqual({ code: 0, stdout: "", stderr: "" });
      const st = statSync(join(work, `f-${c}`));
      expect(readFileSync(join(work, `f-${c}`), "utf8")).toBe("hi\n");
      expect([st.mode & 0o7777, st.uid, st.mtimeMs]).toEqual([0o640, process.getuid!(), 1_000_000_000_000]);
    });

    test("a file in: to a new name, over a file, into a directory; the container's root owns it", () => {
      writeFileSync(join(work, "payload"), "payload\n", { mode: 0o600 });
      writeFileSync(join(work, "payload2"), "second\n");
      for (const [file, dest] of [["payload", "/d/new"], ["payload2", "/d/new"], ["payload", "/d/sub"], ["payload", "/"]]) {
        expect(sh(`"$RL" cp ${file} ${c}:${dest}`)).toEqual({ code: 0, stdout: "", stderr: "" });
      }
      expect(content(`${c}:/d/new`)).toBe("second\n");
      expect(content(`${c}:/d/sub/payload`)).toBe("payload\n");
      expect(listing(`${c}:/payload`)).toEqual(["-rw------- 0/0 payload"]);
    });

    test("a directory out: a new path gets its contents, an existing directory gets it by name, /. its contents", () => {
      expect(sh(`"$RL" cp ${c}:/d out-${c} && mkdir in-${c} dot-${c} && "$RL" cp ${c}:/d in-${c} && "$RL" cp ${c}:/d/. dot-${c}`)).toMatchObject({ code: 0, stderr: "" });
      for (const dir of [`out-${c}`, `in-${c}/d`, `dot-${c}`]) {
        const at = join(work, dir);
        expect(readdirSync(at).sort()).toEqual(expect.arrayContaining(["bob", "f", "fl", "hard", "sub", "suid"]));
        expect(readlinkSync(join(at, "fl"))).toBe("f");
        expect(statSync(join(at, "hard")).ino).toBe(statSync(join(at, "f")).ino);
        expect(readFileSync(join(at, "bob"), "utf8")).toBe("bobs\n");
        // A set-id file of mine on the host would run as me for whoever can execute it.
        expect(statSync(join(at, "suid")).mode & 0o7777).toBe(0o755);
      }
      expect(readdirSync(join(work, `in-${c}`))).toEqual(["d"]);
    });

    test("a directory in, the same three ways", () => {
      const src = join(work, `tree-${c}`);
      mkdirSync(join(src, "s"), { recursive: true });
      writeFileSync(join(src, "a"), "a\n");
      writeFileSync(join(src, "s/b"), "b\n");
      expect(sh(`"$RL" cp tree-${c} ${c}:/new-tree && "$RL" cp tree-${c} ${c}:/d && "$RL" cp tree-${c}/. ${c}:/d/sub`)).toMatchObject({ code: 0, stderr: "" });
      expect(listing(`${c}:/new-tree`)).toEqual(["drwxr-xr-x 0/0 new-tree/", "-rw-r--r-- 0/0 new-tree/a", "drwxr-xr-x 0/0 new-tree/s/", "-rw-r--r-- 0/0 new-tree/s/b"]);
      expect(content(`${c}:/d/tree-${c}/s/b`)).toBe("b\n");
      expect(content(`${c}:/d/sub/s/b`)).toBe("b\n");
    });

    test("- : out as a tar stream GNU tar reads, in from one GNU tar wrote (into a directory only)", () => {
      expect(listing(`${c}:/d/sub/.`)).toEqual(expect.arrayContaining(["-rw-r--r-- 0/0 g"]));
      // A reader that stops early ends the copy quietly, 141 as for SIGPIPE.
      expect(sh(`"$RL" cp ${c}:/ - | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`)).toEqual({ code: 0, stdout: "141\n", stderr: "" });
      expect(listing(`${c}:/d`)).toEqual(expect.arrayContaining(["drwxr-xr-x 0/0 d/", "-rw-r----- 0/0 d/f", "lrwxrwxrwx 0/0 d/fl -> f", "-rw------- 1000/1000 d/bob"]));
      mkdirSync(join(work, `stream-${c}/x`), { recursive: true });
      writeFileSync(join(work, `stream-${c}/x/y`), "from tar\n");
      expect(sh(`tar -C stream-${c} -c . | "$RL" cp - ${c}:/d/sub`)).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(content(`${c}:/d/sub/x/y`)).toBe("from tar\n");
      expect(sh(`tar -C stream-${c} -c . | "$RL" cp - ${c}:/d/f`)).toEqual({ code: 125, stdout: "", stderr: `rl: cannot copy - to ${c}:/d/f: /d/f is not a directory: a tar stream from stdin is extracted into one\n` });
      expect(sh(`tar -C stream-${c} -c . | "$RL" cp - ${c}:/nodir`)).toEqual({ code: 125, stdout: "", stderr: `rl: cannot copy - to ${c}:/nodir: /nodir: no such directory in container ${c}\n` });
    });

    test("-a keeps owners: a file of uid 1000 comes out as its subordinate id, and goes in as 1000", () => {
      const [range] = parseSubIds(readFileSync("/etc/subuid", "utf8"), [userInfo().username, String(process.getuid!())]);
      expect(sh(`"$RL" cp -a ${c}:/d/bob bob-a-${c} && "$RL" cp ${c}:/d/bob bob-${c}`)).toMatchObject({ code: 0, stderr: "" });
      expect(statSync(join(work, `bob-a-${c}`))).toMatchObject({ uid: range!.start + 999, mode: 0o100600 });
      expect(statSync(join(work, `bob-${c}`)).uid).toBe(process.getuid!());
      writeFileSync(join(work, `owned-${c}.tar`), tar([{ name: "owned", body: "x\n", uid: 1000, gid: 1000, mode: 0o640 }]));
      expect(sh(`"$RL" cp -a - ${c}:/d < owned-${c}.tar && "$RL" cp - ${c}:/d/sub < owned-${c}.tar`)).toMatchObject({ code: 0, stderr: "" });
      expect(listing(`${c}:/d/owned`)).toEqual(["-rw-r----- 1000/1000 owned"]);
      expect(listing(`${c}:/d/sub/owned`)).toEqual(["-rw-r----- 0/0 owned"]);
    });

    test("-a with an owner outside the container's ids is refused, and nothing is written", () => {
      writeFileSync(join(work, `far-${c}.tar`), tar([{ name: "far", body: "x\n", uid: 70000, gid: 0 }]));
      const e = sh(`"$RL" cp -a - ${c}:/d < far-${c}.tar`);
      expect(e.code).toBe(125);
      expect(e.stderr).toMatch(new RegExp(`^rl: cannot copy - to ${c}:/d: far is owned by uid 70000, outside the uids this user can map \\(0-\\d+\\).*\\n$`));
      expect(sh(`"$RL" cp ${c}:/d/far x`).code).toBe(125);
    });

    test("--overwrite lets a directory copied in replace a file in it, and a file a directory", () => {
      // ow1/o/f is a file, ow2/o/f a directory.
      mkdirSync(join(work, `ow1-${c}/o`), { recursive: true });
      writeFileSync(join(work, `ow1-${c}/o/f`), "file\n");
      mkdirSync(join(work, `ow2-${c}/o/f`), { recursive: true });
      writeFileSync(join(work, `ow2-${c}/o/f/inner`), "inner\n");
      expect(sh(`"$RL" cp ow1-${c}/o ${c}:/`)).toMatchObject({ code: 0, stderr: "" });
      expect(sh(`"$RL" cp ow2-${c}/o ${c}:/`)).toEqual({ code: 125, stdout: "", stderr: `rl: cannot copy ow2-${c}/o to ${c}:/: cannot replace /o/f, which is not a directory, with a directory (--overwrite allows it)\n` });
      expect(content(`${c}:/o/f`)).toBe("file\n");
      expect(sh(`"$RL" cp --overwrite ow2-${c}/o ${c}:/`)).toMatchObject({ code: 0, stderr: "" });
      expect(content(`${c}:/o/f/inner`)).toBe("inner\n");
      expect(sh(`"$RL" cp ow1-${c}/o ${c}:/`)).toEqual({ code: 125, stdout: "", stderr: `rl: cannot copy ow1-${c}/o to ${c}:/: cannot replace the directory /o/f with a non-directory (--overwrite allows it)\n` });
      expect(sh(`"$RL" cp --overwrite ow1-${c}/o ${c}:/ && "$RL" cp ${c}:/o/f -| tar -xO`)).toEqual({ code: 0, stdout: "file\n", stderr: "" });
    });
  });

  test("a copy into a stopped container is in its filesystem, also where it removed the image's files: rl export shows it", () => {
    writeFileSync(join(work, "seen"), "seen by export\n");
    mkdirSync(join(work, "keys"));
    writeFileSync(join(work, "keys/mine.pub"), "mine\n");
    expect(sh(`"$RL" cp seen stopped:/etc/seen && "$RL" cp seen stopped:/etc/motd && "$RL" cp keys stopped:/etc/apk`)).toMatchObject({ code: 0, stderr: "" });
    expect(sh(`"$RL" export stopped | tar -xO etc/seen etc/motd`)).toEqual({ code: 0, stdout: "seen by export\nseen by export\n", stderr: "" });
    // The directory the container removed comes back with only what was copied, none of the image's keys.
    expect(sh(`"$RL" export stopped | tar -t | grep '^etc/apk/keys'`).stdout).toBe("etc/apk/keys/\netc/apk/keys/mine.pub\n");
  });

  describe("errors: one line, exit 125, nothing left behind", () => {
    test.each([
      [["nosuch:/a", "x"], "rl: cannot copy nosuch:/a to x: no such container: nosuch\n"],
      [["stopped:/nope", "x"], "rl: cannot copy stopped:/nope to x: /nope: no such file or directory in container stopped\n"],
      [["running:/nope/x", "x"], "rl: cannot copy running:/nope/x to x: /nope/x: no such file or directory in container running\n"],
      [["stopped:/d/f/", "x"], "rl: cannot copy stopped:/d/f/ to x: /d/f/: not a directory in container stopped\n"],
      [["x", "stopped:/nodir/x"], "rl: cannot copy x to stopped:/nodir/x: /nodir: no such directory in container stopped\n"],
      [["stopped:/d/f", "nodir/x"], "rl: cannot copy stopped:/d/f to nodir/x: WORK/nodir: no such directory on the host\n"],
      [["stopped:/d/f", "newdir/"], "rl: cannot copy stopped:/d/f to newdir/: WORK/newdir/: no such directory on the host\n"],
      [["stopped:/d", "afile"], "rl: cannot copy stopped:/d to afile: WORK/afile is not a directory: a directory cannot be copied onto it\n"],
      [["a", "b"], "rl: cannot copy a to b: one of SRC and DEST must be a container's path (CONTAINER:PATH)\n"],
      [["stopped:/a", "running:/b"], "rl: cannot copy stopped:/a to running:/b: copying between containers is not supported: one of SRC and DEST must be a host path or -\n"],
      [["-", "-"], "rl: cannot copy - to -: one of SRC and DEST must be a container's path (CONTAINER:PATH)\n"],
      [[":/a", "b"], `rl: cannot copy :/a to b: invalid container path ":/a": the container's name is missing before ":"\n`],
    ])("rl cp %p", (args, message) => {
      writeFileSync(join(work, "x"), "x\n");
      writeFileSync(join(work, "afile"), "a file\n");
      const before = readdirSync(work).sort();
      const e = sh(`"$RL" cp ${args.map((a) => `'${a}'`).join(" ")}`);
      expect(e).toEqual({ code: 125, stdout: "", stderr: message.replace("WORK", work) });
      expect(readdirSync(work).sort()).toEqual(before);
      expect(readFileSync(join(work, "afile"), "utf8")).toBe("a file\n");
    });

    test("a directory onto a file in the container: refused, the file as it was", () => {
      mkdirSync(join(work, "adir"), { recursive: true });
      expect(sh(`"$RL" cp adir stopped:/d/f`)).toEqual({ code: 125, stdout: "", stderr: "rl: cannot copy adir to stopped:/d/f: /d/f is not a directory: a directory cannot be copied onto it\n" });
      expect(content("stopped:/d/f")).toBe("hi\n");
    });
  });

  describe("symlinks the image made point at host paths", () => {
    const marker = () => join(t.root, "marker");
    const secret = () => join(marker(), "secret");
    const secretDir = () => join(marker(), "dir");
    /** Every file under the marker directory with its content and time: what must never change. */
    const snapshot = () =>
      readdirSync(marker(), { recursive: true, withFileTypes: true }).map((e) => {
        const p = join(e.parentPath, e.name);
        return `${p} ${lstatSync(p).mtimeMs} ${e.isFile() ? readFileSync(p, "utf8") : ""}`;
      });
    let before: string[] = [];

    beforeAll(async () => {
      mkdirSync(secretDir(), { recursive: true });
      writeFileSync(secret(), "HOST-SECRET\n");
      writeFileSync(join(secretDir(), "f"), "HOST-SECRET\n");
      const root = join(t.root, "linky-rootfs");
      mkdirSync(join(root, "bin"), { recursive: true });
      mkdirSync(join(root, "etc"));
      copyFileSync("/bin/busybox", join(root, "bin/busybox"));
      for (const app of ["sh", "sleep", "echo", "true"]) symlinkSync("busybox", join(root, "bin", app));
      symlinkSync(secret(), join(root, "etc/passwd"));
      symlinkSync(secretDir(), join(root, "etc/dirlink"));
      symlinkSync("/", join(root, "hostroot"));
      symlinkSync(`../../../../../../../../..${secret()}`, join(root, "etc/rel"));
      const made = Bun.spawnSync(["tar", "-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf", `${root}.tar`, "."]);
      expect(made.exitCode).toBe(0);
      expect(await r(["import", `${root}.tar`, "linky"])).toMatchObject({ code: 0, stderr: "" });
      containers.push("linky");
      expect(await r(["run", "--name", "linky", "linky", "true"])).toMatchObject({ code: 0 });
      await startRunning("linky-run", ["linky"], "true");
      before = snapshot();
    });

    afterAll(() => {
      expect(snapshot()).toEqual(before);
    });

    describe.each(["linky", "linky-run"])("%s", (c) => {
      test("a link copied out stays a link; followed (-L, a trailing /), it leads nowhere outside the container", () => {
        expect(sh(`"$RL" cp ${c}:/etc/passwd link-${c}`)).toMatchObject({ code: 0, stderr: "" });
        expect(readlinkSync(join(work, `link-${c}`))).toBe(secret());
        for (const [flags, path] of [["-L", "/etc/passwd"], ["-L", "/etc/rel"], ["", "/etc/dirlink/"], ["", `/hostroot${secret()}`], ["-L", `/hostroot${secretDir()}/f`]]) {
          const e = sh(`"$RL" cp ${flags} ${c}:${path} got-${c}`);
          expect(e).toEqual({ code: 125, stdout: "", stderr: `rl: cannot copy ${c}:${path} to got-${c}: ${path}: no such file or directory in container ${c}\n` });
          expect(existsSync(join(work, `got-${c}`))).toBe(false);
        }
      });

      test("a copy through them into the container never reaches the host", () => {
        writeFileSync(join(work, "evil"), "OVERWRITTEN\n");
        for (const path of ["/etc/passwd", "/etc/rel", `/hostroot${secret()}`, "/etc/dirlink/", `/etc/dirlink/f`]) {
          const e = sh(`"$RL" cp evil ${c}:${path}`);
          expect(e.code).toBe(125);
          expect(e.stderr).toMatch(/: no such directory in container/);
        }
        expect(readFileSync(secret(), "utf8")).toBe("HOST-SECRET\n");
      });

      test("the directory link to / is the container's own root", () => {
        expect(sh(`"$RL" cp ${c}:/hostroot/. root-${c}`)).toMatchObject({ code: 0, stderr: "" });
        expect(readdirSync(join(work, `root-${c}`)).sort()).toEqual(expect.arrayContaining(["bin", "etc", "hostroot"]));
        expect(sh(`grep -rl HOST-SECRET root-${c}`).stdout).toBe("");
      });
    });
  });

  test.skipIf(noGcc)("a running container swapping a directory and a symlink to a host directory: the host's file is never read nor written", async () => {
    // The container flips /d (a directory with a file f) and /s (a symlink to a host directory holding
    // f) with renameat2(RENAME_EXCHANGE) in a loop while rl copies /s/f out and in.
    const secret = join(t.root, "race-secret");
    mkdirSync(secret);
    writeFileSync(join(secret, "f"), "HOST-SECRET-MARKER\n");
    const before = statSync(join(secret, "f")).mtimeMs;
    const bin = swapRacer(work, secret);
    containers.push("racer");
    const p = Bun.spawn([RL_BIN, "run", "--name", "racer", "-v", `${bin}:/race:ro`, ALPINE, "/race"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    started.push(p);
    const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
    writeFileSync(join(work, "race-in"), "written by cp\n");
    let inside = 0;
    for (let i = 0; i < 20; i++) {
      sh(`"$RL" cp racer:/s/f race-out-${i}; "$RL" cp -L racer:/s race-dir-${i}; "$RL" cp race-in racer:/s/f`);
      expect(sh(`grep -rl HOST-SECRET race-out-${i} race-dir-${i} 2>/dev/null`).stdout).toBe("");
      if (!existsSync(join(work, `race-out-${i}`))) continue;
      // The container's own file, as it made it or as an earlier copy in wrote it.
      expect(["inside\n", "written by cp\n"]).toContain(readFileSync(join(work, `race-out-${i}`), "utf8"));
      inside++;
    }
    // The copies did go through the flipping names (they are not all refused).
    expect(inside).toBeGreaterThan(0);
    expect(readFileSync(join(secret, "f"), "utf8")).toBe("HOST-SECRET-MARKER\n");
    expect(statSync(join(secret, "f")).mtimeMs).toBe(before);
    expect(readdirSync(secret)).toEqual(["f"]);
  }, 120_000);
});
