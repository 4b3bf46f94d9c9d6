import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lgetxattrs } from "../../cli/lib/sys/libc";
import { FIXTURES, makeEnv, rl, RL_BIN, skipReason } from "./harness";
import { busyboxLayer, ociArchive, swapRacer, tar as layerTar } from "./hostile-inputs";

const reason = skipReason();
if (reason) console.log(`skipping export and save tests: ${reason}`);

/** Tools the interop tests need: each missing one skips its tests, saying so. */
function missing(tool: string): boolean {
  const found = Bun.which(tool) !== null;
  if (!found) console.log(`skipping the ${tool} interop tests: ${tool} is not installed`);
  return !found;
}
const noPodman = missing("podman");
const noSkopeo = missing("skopeo");
const noUmoci = missing("umoci");
const noGcc = missing("gcc");

function sh(script: string, env: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["bash", "-c", script], { env, stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const LONG = `${"\u00fc".repeat(70)}/${"\u00e9".repeat(80)}`; // 300 bytes of UTF-8: only pax holds it
const SPARSE_MIB = 64;

/** A layer over busybox with what an export must keep: xattrs, hardlinks, owners, modes, a symlink, a long non-ASCII name. */
function contentLayer(): Uint8Array {
  return layerTar([
    { name: "data", type: "dir", mode: 0o755 },
    { name: "data/xattr", body: "with xattrs\n", pax: { "SCHILY.xattr.user.note": "kept", "SCHILY.xattr.user.other": "too" } },
    { name: "data/owned", body: "by 1000\n", uid: 1000, gid: 1001, mode: 0o640 },
    { name: "data/suid", body: "#!/bin/sh\n", mode: 0o4755 },
    { name: "data/first", body: "linked\n" },
    { name: "data/second", type: "hardlink", link: "data/first" },
    { name: "data/link", type: "symlink", link: "../etc/passwd" },
    { name: "data/long", body: "long name\n", pax: { path: `data/${LONG}` } },
    { name: "data/remove-me", body: "gone in the container\n" },
  ]);
}

/** What the container changes, the same for rl and podman. */
const CHANGES = `echo changed > /data/new; rm /data/remove-me; truncate -s ${SPARSE_MIB}M /data/sparse; echo end >> /data/sparse; mkdir /made; chown 7:8 /made`;

/** `tar -tv --numeric-owner` of an archive: name → "mode uid/gid size [-> target]", without the times. */
function listing(file: string): Map<string, string> {
  const r = Bun.spawnSync(["tar", "-tvf", file, "--numeric-owner"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar -tvf ${file}: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.toString().split("\n").filter(Boolean)) {
    const m = /^(\S+) (\d+)\/(\d+)\s+(\S+) \S+ \S+ (.*?)(?: -> (.*)| link to (.*))?$/.exec(line);
    if (!m) throw new Error(`unexpected tar line: ${line}`);
    const name = m[5]!.replace(/^\.\//, "").replace(/\/$/, "");
    out.set(name, `${m[1]} ${m[2]}/${m[3]} ${m[1]!.startsWith("h") ? 0 : m[4]}${m[6] ? ` -> ${m[6]}` : ""}${m[7] ? ` link to ${m[7].replace(/^\.\//, "")}` : ""}`);
  }
  return out;
}

describe.skipIf(Boolean(reason))("rl export", () => {
  const t = makeEnv();
  const r = (args: string[]) => rl(args, { env: t.env });
  let work = "", archive = "";
  let podmanRoot = "", podmanEnv: Record<string, string> = {};
  const podman = (args: string[]) => {
    const p = Bun.spawnSync(["podman", "--root", join(podmanRoot, "root"), "--runroot", join(podmanRoot, "run"), "--runtime", "runc", "--storage-driver", "vfs", ...args], { env: podmanEnv, stdout: "pipe", stderr: "pipe" });
    return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  let image = "";

  beforeAll(async () => {
    work = join(t.root, "work");
    mkdirSync(work, { recursive: true });
    podmanRoot = join(t.root, "podman");
    podmanEnv = { ...t.env, XDG_RUNTIME_DIR: join(podmanRoot, "xdg") };
    mkdirSync(podmanEnv.XDG_RUNTIME_DIR!, { recursive: true, mode: 0o700 });
    archive = join(work, "content.tar");
    ociArchive(archive, { layers: [busyboxLayer(FIXTURES), { tar: contentLayer() }] });
    const loaded = await r(["load", "-i", archive]);
    expect(loaded.code).toBe(0);
    image = loaded.stdout.trim().split(" ").pop()!;
    expect(await r(["run", "--name", "ex", image, "sh", "-c", CHANGES])).toMatchObject({ code: 0, stderr: "" });
  });
  afterAll(async () => {
    const pause = join(podmanRoot, "xdg/libpod/tmp/pause.pid");
    if (podmanRoot && existsSync(pause)) {
      try {
        process.kill(Number(readFileSync(pause, "utf8")), "SIGKILL");
      } catch {}
    }
    await t.cleanup();
  });

  test("a reader that stops early ends the export quietly, 141 as for SIGPIPE, nothing left in the store", () => {
    const head = sh(`'${RL_BIN}' export ex | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`, t.env);
    expect(head).toMatchObject({ stdout: "141\n", stderr: "" });
    const list = sh(`'${RL_BIN}' export ex | tar -t | head -1; echo "\${PIPESTATUS[*]}"`, t.env);
    expect(list.stdout).toMatch(/^bin\/?\n141 0 0\n$|^bin\/?\n141 141 0\n$/);
    expect(list.stderr).toBe("");
    expect(readdirSync(join(t.env.RL_ROOT!, "tmp"))).toEqual([]);
  });

  test("-o writes the file 0644 minus the umask, through a temp file that does not stay", () => {
    const dir = join(work, "out");
    mkdirSync(dir);
    writeFileSync(join(dir, "old.tar"), "replaced only when complete");
    expect(sh(`umask 022; '${RL_BIN}' export -o '${dir}/old.tar' ex`, t.env)).toMatchObject({ code: 0, stderr: "" });
    expect(statSync(join(dir, "old.tar")).mode & 0o777).toBe(0o644);
    expect(sh(`umask 077; '${RL_BIN}' export -o '${dir}/private.tar' ex`, t.env)).toMatchObject({ code: 0, stderr: "" });
    expect(statSync(join(dir, "private.tar")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["old.tar", "private.tar"]);
    const bad = sh(`'${RL_BIN}' export -o '${dir}/nosuchdir/x.tar' ex`, t.env);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toMatch(/^rl: cannot export ex: .*\n$/);
    expect(readdirSync(dir).sort()).toEqual(["old.tar", "private.tar"]);
  });

  test("-o through a symlink writes the file it names; Ctrl-C while the file is written leaves nothing", async () => {
    const dir = join(work, "out2");
    mkdirSync(dir);
    writeFileSync(join(dir, "target.tar"), "old");
    symlinkSync("target.tar", join(dir, "link.tar"));
    expect(sh(`'${RL_BIN}' export -o '${dir}/link.tar' ex`, t.env)).toMatchObject({ code: 0, stderr: "" });
    expect(lstatSync(join(dir, "link.tar")).isSymbolicLink()).toBe(true);
    expect(listing(join(dir, "target.tar")).has("data/xattr")).toBe(true);
    const pause = join(work, "pause-export");
    const p = Bun.spawn([RL_BIN, "export", "-o", join(dir, "interrupted.tar"), "ex"], { env: { ...t.env, RL_TEST_PAUSE_EXPORT: pause }, stdout: "pipe", stderr: "pipe" });
    while (!existsSync(pause)) await Bun.sleep(10);
    expect(readdirSync(dir).filter((n) => n.endsWith(".rl-tmp"))).toHaveLength(1);
    p.kill("SIGINT");
    expect(await p.exited).toBe(130);
    rmSync(pause, { force: true });
    expect(readdirSync(dir).sort()).toEqual(["link.tar", "target.tar"]);
  });

  test("GNU tar reads the export: owners, modes, hardlinks, symlinks, long UTF-8 names, xattrs, holes", () => {
    const out = join(work, "ex.tar");
    expect(sh(`'${RL_BIN}' export -o '${out}' ex`, t.env)).toMatchObject({ code: 0, stderr: "" });
    const list = listing(out);
    expect(list.get("data/owned")).toBe("-rw-r----- 1000/1001 8");
    expect(list.get("data/suid")).toBe("-rwsr-xr-x 0/0 10");
    expect(list.get("made")).toBe("drwxr-xr-x 7/8 0");
    expect(list.get("data/link")).toBe("lrwxrwxrwx 0/0 0 -> ../etc/passwd");
    expect([list.get("data/first"), list.get("data/second")].sort()).toEqual(["-rw-r--r-- 0/0 7", expect.stringMatching(/^hrw-r--r-- 0\/0 0 link to data\/(first|second)$/)].sort());
    expect(list.get(`data/${LONG}`)).toBe("-rw-r--r-- 0/0 10");
    expect(list.get("data/sparse")).toBe(`-rw-r--r-- 0/0 ${SPARSE_MIB * 2 ** 20 + 4}`);
    expect(list.has("data/remove-me")).toBe(false);
    // Holes are not in the archive: 64 MiB of them take no room.
    expect(statSync(out).size).toBeLessThan(8 * 2 ** 20);
    const dest = join(work, "ex-x");
    mkdirSync(dest);
    const x = Bun.spawnSync(["tar", "--xattrs", "--xattrs-include=user.*", "-xpf", out, "-C", dest, "data"], { stderr: "pipe" });
    expect(x.stderr.toString()).toBe("");
    expect(Object.fromEntries([...lgetxattrs(join(dest, "data/xattr"))].map(([k, v]) => [k, new TextDecoder().decode(v)]))).toEqual({ "user.note": "kept", "user.other": "too" });
    const sparse = readFileSync(join(dest, "data/sparse"));
    expect(sparse.length).toBe(SPARSE_MIB * 2 ** 20 + 4);
    expect(sparse.subarray(sparse.length - 4).toString()).toBe("end\n");
    expect(sparse.subarray(0, sparse.length - 4).every((b) => b === 0)).toBe(true);
    expect(statSync(join(dest, "data/sparse")).blocks * 512).toBeLessThan(2 ** 20);
    expect(readFileSync(join(dest, "data", LONG), "utf8")).toBe("long name\n");
  });

  test.skipIf(noPodman)("the same tree, owners and xattrs as podman export of the same image and changes", async () => {
    const loaded = podman(["load", "-i", archive]);
    expect(loaded.code).toBe(0);
    const id = /Loaded image: (\S+)/.exec(loaded.stdout)![1]!;
    const ran = podman(["run", "--name", "ex", "--network", "none", id, "sh", "-c", CHANGES]);
    expect(ran).toMatchObject({ code: 0 });
    const theirs = join(work, "podman-ex.tar"), ours = join(work, "rl-ex.tar");
    expect(podman(["export", "-o", theirs, "ex"]).code).toBe(0);
    expect(sh(`'${RL_BIN}' export -o '${ours}' ex`, t.env)).toMatchObject({ code: 0, stderr: "" });
    // What each runtime adds to a container's root for itself (mount points, its own files) is left out.
    const runtime = /^(dev|proc|sys|run|tmp|etc\/(hosts|hostname|resolv\.conf|mtab))(\/|$)|^\.containerenv$/;
    const clean = (m: Map<string, string>) => [...m].filter(([k]) => k !== "" && k !== "." && !runtime.test(k)).sort(([a], [b]) => (a < b ? -1 : 1));
    // A hardlink pair may be written in either order: the pair is compared as one file and one link.
    const pair = /^data\/(first|second)$/;
    const ourRows = clean(listing(ours)), theirRows = clean(listing(theirs));
    expect(ourRows.filter(([k]) => !pair.test(k))).toEqual(theirRows.filter(([k]) => !pair.test(k)));
    const pairOf = (rows: [string, string][]) => rows.filter(([k]) => pair.test(k)).map(([, v]) => v.replace(/ link to .*$/, "")).sort();
    expect(pairOf(ourRows)).toEqual(pairOf(theirRows));
    const xattrsOf = (file: string) => {
      const dest = `${file}.x`;
      mkdirSync(dest);
      Bun.spawnSync(["tar", "--xattrs", "--xattrs-include=user.*", "-xpf", file, "-C", dest, "data"]);
      return Object.fromEntries(readdirSync(join(dest, "data")).map((n) => [n, [...lgetxattrs(join(dest, "data", n))].map(([k, v]) => `${k}=${new TextDecoder().decode(v)}`).sort()]));
    };
    const mine = xattrsOf(ours);
    expect(mine).toEqual(xattrsOf(theirs));
    expect(mine.xattr).toEqual(["user.note=kept", "user.other=too"]);
    // podman reads rl's sparse members (GNU sparse 1.0) back as the file they hold.
    const imported = podman(["import", ours, "localhost/from-rl:1"]);
    expect(imported.code).toBe(0);
    const read = podman(["run", "--rm", "--network", "none", "localhost/from-rl:1", "sh", "-c", "wc -c < /data/sparse; tail -c 4 /data/sparse; cat /data/xattr"]);
    expect(read).toMatchObject({ code: 0, stdout: `${SPARSE_MIB * 2 ** 20 + 4}\nend\nwith xattrs\n` });
    podman(["rm", "-f", "ex"]);
  });

  test.skipIf(noGcc)("a running container swapping a directory and a symlink to a host directory gets nothing outside into the export", async () => {
    // The host directory the symlink names holds a marker; the container flips /d (a directory with a
    // file f) and /s (a symlink to that host directory) with renameat2(RENAME_EXCHANGE) in a loop.
    const secret = join(work, "host-secret");
    mkdirSync(secret);
    writeFileSync(join(secret, "f"), "HOST-SECRET-MARKER\n");
    const bin = swapRacer(work, secret);
    const p = Bun.spawn([RL_BIN, "run", "--name", "racer", "-v", `${bin}:/race:ro`, image, "/race"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      let inside = 0;
      for (let i = 0; i < 25; i++) {
        const out = join(work, `race-${i}.tar`);
        const e = sh(`'${RL_BIN}' export -o '${out}' racer`, t.env);
        expect({ code: e.code, stderr: e.stderr }).toEqual({ code: 0, stderr: "" });
        const bytes = readFileSync(out);
        expect(bytes.includes("HOST-SECRET-MARKER")).toBe(false);
        if (bytes.includes("inside\n")) inside++;
      }
      // The walk did see the container's own file through the flipping names (it is not just skipped).
      expect(inside).toBeGreaterThan(0);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
      await r(["rm", "-f", "racer"]);
    }
  }, 120_000);
});

describe.skipIf(Boolean(reason))("rl save", () => {
  const t = makeEnv();
  const r = (args: string[]) => rl(args, { env: t.env });
  let work = "";
  const ALPINE = "docker.io/library/alpine:3.20.3";

  beforeAll(async () => {
    work = join(t.root, "work");
    mkdirSync(work, { recursive: true });
    const layout = join(work, "alpine-oci.tar");
    const c = Bun.spawnSync(["skopeo", "copy", "-q", `oci:${FIXTURES}/oci/alpine-3.20.3:3.20.3`, `oci-archive:${layout}:${ALPINE}`], { stderr: "pipe" });
    if (c.exitCode !== 0) throw new Error(`skopeo copy: ${c.stderr}`);
    expect((await r(["load", "-i", layout])).code).toBe(0);
  });
  afterAll(() => t.cleanup());

  test("a reader that stops early ends the save quietly, 141 as for SIGPIPE", () => {
    for (const format of ["oci-archive", "docker-archive"]) {
      const s = sh(`'${RL_BIN}' save --format ${format} ${ALPINE} | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`, t.env);
      expect(s).toMatchObject({ stdout: "141\n", stderr: "" });
    }
  });

  test.skipIf(noSkopeo || noUmoci)("both formats: skopeo inspects them, umoci unpacks them", async () => {
    for (const format of ["oci-archive", "docker-archive"] as const) {
      const out = join(work, `saved-${format}.tar`);
      expect(await r(["save", "--format", format, "-o", out, ALPINE])).toMatchObject({ code: 0, stdout: "", stderr: "" });
      expect(statSync(out).mode & 0o777).toBe(0o644);
      const ref = format === "oci-archive" ? `oci-archive:${out}:${ALPINE}` : `docker-archive:${out}`;
      const info = Bun.spawnSync(["skopeo", "inspect", ref], { stdout: "pipe", stderr: "pipe" });
      expect(info.stderr.toString()).toBe("");
      expect(JSON.parse(info.stdout.toString())).toMatchObject({ Os: "linux", Architecture: "amd64", Layers: [expect.stringMatching(/^sha256:/)] });
      const layout = join(work, `layout-${format}`);
      expect(Bun.spawnSync(["skopeo", "copy", "-q", ref, `oci:${layout}:x`]).exitCode).toBe(0);
      const bundle = join(work, `bundle-${format}`);
      const u = Bun.spawnSync(["umoci", "unpack", "--rootless", "--image", `${layout}:x`, bundle], { stderr: "pipe" });
      expect(u.exitCode).toBe(0);
      expect(readFileSync(join(bundle, "rootfs/etc/alpine-release"), "utf8")).toBe("3.20.3\n");
    }
  });

  test("Ctrl-C while -o is written leaves no file", async () => {
    const dir = join(work, "interrupted");
    mkdirSync(dir);
    const pause = join(work, "pause-save");
    const p = Bun.spawn([RL_BIN, "save", "-o", join(dir, "x.tar"), ALPINE], { env: { ...t.env, RL_TEST_PAUSE_SAVE: pause }, stdout: "pipe", stderr: "pipe" });
    while (!existsSync(pause)) await Bun.sleep(10);
    expect(readdirSync(dir).filter((n) => n.endsWith(".rl-tmp"))).toHaveLength(1);
    p.kill("SIGINT");
    rmSync(pause); // rl goes on, and meets the signal at its next wait
    expect(await p.exited).toBe(130);
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a damaged stored blob fails the save with one line, exit 125, and leaves no file", async () => {
    // A store of its own: its blobs get damaged.
    const fresh = makeEnv();
    try {
      const f = (args: string[]) => rl(args, { env: fresh.env });
      expect((await f(["load", "-i", join(work, "alpine-oci.tar")])).code).toBe(0);
      const blobs = join(fresh.env.RL_ROOT!, "blobs/sha256");
      const layer = readdirSync(blobs).map((n) => join(blobs, n)).sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
      const original = readFileSync(layer);
      const dir = join(work, "damaged");
      mkdirSync(dir);
      // Same size, one byte changed: only the digest shows it.
      const flipped = Buffer.from(original);
      flipped[1000] = flipped[1000]! ^ 0xff;
      writeFileSync(layer, flipped);
      for (const format of ["oci-archive", "docker-archive"]) {
        const s = await f(["save", "--format", format, "-o", join(dir, "x.tar"), ALPINE]);
        expect(s.code).toBe(125);
        expect(s.stderr).toMatch(new RegExp(`^rl: cannot save ${ALPINE}: the stored blob sha256:[0-9a-f]{64} is damaged \\(.*\\): pull or load the image again\\n$`));
        expect(readdirSync(dir)).toEqual([]);
      }
      // Truncated: found before anything is written, to stdout too.
      truncateSync(layer, 1000);
      const s = sh(`'${RL_BIN}' save ${ALPINE} | wc -c`, fresh.env);
      expect(s.stdout.trim()).toBe("0");
      expect(s.stderr).toMatch(/^rl: cannot save .*: the stored blob sha256:[0-9a-f]{64} is damaged \(1000 bytes, its descriptor says \d+\): pull or load the image again\n$/);
      const code = sh(`'${RL_BIN}' save -o '${dir}/y.tar' ${ALPINE}`, fresh.env).code;
      expect(code).toBe(125);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });
});
