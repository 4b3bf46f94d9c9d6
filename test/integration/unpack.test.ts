/**
 * Unpacking as a user would see it: owners through the id mapping, modes, setuid/setgid, file
 * capabilities, xattrs, hardlinks, fifos, symlinks and times, both in the store and inside a
 * container; device nodes skipped with one warning; and an rl killed mid-unpack leaving nothing the
 * next command would take for an image.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chainIds } from "../../cli/lib/image/digest";
import { FIXTURES, makeEnv, rl, skipReason, RL_BIN } from "./harness";
import { busyboxLayer, ociLayout, sha256, tar, type TarSpec } from "./hostile-inputs";

const skip = skipReason();
if (skip) console.log(`skipping unpacking integration tests: ${skip}`);
const E = skip ? undefined : makeEnv();

/** Host uid/gid of container id `id` under rltest-style mapping: 0 → the user, 1.. → the subordinate range. */
function hostId(id: number, own: number, sub: number): number {
  return id === 0 ? own : sub + id - 1;
}
function subStart(file: string, user: string): number {
  const line = readFileSync(file, "utf8").split("\n").find((l) => l.startsWith(`${user}:`));
  return Number(line!.split(":")[1]);
}

// cap_net_raw (13) permitted + effective, VFS_CAP_REVISION_2
const CAP_NET_RAW = String.fromCharCode(1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

const META: TarSpec[] = [
  { name: "t", type: "dir", mode: 0o751, mtime: 1_600_000_000 },
  { name: "t/owned", body: "o", uid: 42, gid: 43, mode: 0o640, mtime: 1_500_000_000 },
  { name: "t/suid", body: "s", mode: 0o4755 },
  { name: "t/sgid", body: "g", mode: 0o2755, gid: 50 },
  { name: "t/cap", body: "c", mode: 0o755, pax: { "SCHILY.xattr.security.capability": CAP_NET_RAW } },
  { name: "t/note", body: "n", pax: { "SCHILY.xattr.user.note": "hello" } },
  { name: "t/link", type: "symlink", link: "owned", uid: 7, gid: 8, mtime: 1_400_000_000 },
  { name: "t/hard", type: "hardlink", link: "t/owned" },
  { name: "t/fifo", type: "fifo", mode: 0o620, uid: 5, gid: 6, mtime: 1_300_000_000 },
  { name: "t/frac", body: "f", pax: { mtime: "1234567890.5" } },
  { name: "t/maxid", body: "m", uid: 65536, gid: 65536 },
];

describe.skipIf(skip !== undefined)("unpacking", () => {
  let layout = "";
  let layerPath = "";
  beforeAll(() => {
    mkdirSync(join(E!.root, "in"), { recursive: true });
    const base = busyboxLayer(FIXTURES);
    const meta = tar(META);
    layout = ociLayout(join(E!.root, "in/meta"), { layers: [base, { tar: meta }] });
    layerPath = join(E!.env.RL_ROOT!, "layers", chainIds([base.diffId!, sha256(meta)])[1]!.slice(7));
  });
  afterAll(async () => {
    await E?.cleanup();
  });

  test("owners, modes, setuid/setgid, capabilities, xattrs, links, fifos and times land in the store", async () => {
    const r = await rl(["run", "--rm", layout, "true"], { env: E!.env });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    const user = process.env.USER ?? "rltest";
    const me = process.getuid!();
    const [subU, subG] = [subStart("/etc/subuid", user), subStart("/etc/subgid", user)];
    const st = (n: string) => lstatSync(join(layerPath, "t", n));
    expect([st("owned").uid, st("owned").gid]).toEqual([hostId(42, me, subU), hostId(43, process.getgid!(), subG)]);
    expect(st("owned").mode & 0o7777).toBe(0o640);
    expect(st("owned").mtimeMs).toBe(1_500_000_000_000);
    expect(st("suid").mode & 0o7777).toBe(0o4755);
    expect(st("sgid").mode & 0o7777).toBe(0o2755);
    expect(st("sgid").gid).toBe(hostId(50, process.getgid!(), subG));
    expect(st("link").isSymbolicLink()).toBe(true);
    expect([st("link").uid, st("link").gid, st("link").mtimeMs]).toEqual([hostId(7, me, subU), hostId(8, process.getgid!(), subG), 1_400_000_000_000]);
    expect(st("hard").ino).toBe(st("owned").ino);
    expect(st("fifo").isFIFO()).toBe(true);
    expect([st("fifo").mode & 0o7777, st("fifo").uid, st("fifo").mtimeMs]).toEqual([0o620, hostId(5, me, subU), 1_300_000_000_000]);
    expect(st("frac").mtimeMs).toBe(1_234_567_890_500);
    expect(st("maxid").uid).toBe(hostId(65536, me, subU));
    expect(lstatSync(join(layerPath, "t")).mode & 0o7777).toBe(0o751);
    expect(lstatSync(join(layerPath, "t")).mtimeMs).toBe(1_600_000_000_000);
    const xattr = (n: string, key: string) =>
      Bun.spawnSync(["python3", "-c", `import os,sys;sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())`, join(layerPath, "t", n), key]).stdout.toString();
    expect(Buffer.from(xattr("note", "user.note"), "hex").toString()).toBe("hello");
    // The kernel stores a namespaced capability (v3, with the namespace's root uid); permitted bit 13 stays.
    const cap = Buffer.from(xattr("cap", "security.capability"), "hex");
    expect(cap.length).toBeGreaterThanOrEqual(20);
    expect(cap.readUInt32LE(4) & (1 << 13)).toBe(1 << 13);
  });

  test("inside the container the same files show their image owners and modes", async () => {
    const r = await rl(["run", "--rm", layout, "stat", "-c", "%n %u %g %a %F", "/t/owned", "/t/suid", "/t/fifo", "/t/maxid"], { env: E!.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["/t/owned 42 43 640 regular file", "/t/suid 0 0 4755 regular file", "/t/fifo 5 6 620 fifo", "/t/maxid 65536 65536 644 regular file"]);
  });

  test("a symlink in a lower layer is never followed: the upper layer's directory hides it", async () => {
    const victim = join(E!.root, "victim");
    mkdirSync(victim);
    const two = ociLayout(join(E!.root, "in/lower-symlink"), {
      layers: [busyboxLayer(FIXTURES), { tar: tar([{ name: "esc", type: "symlink", link: victim }]) }, { tar: tar([{ name: "esc/pwned", body: "p" }]) }],
    });
    const r = await rl(["run", "--rm", two, "sh", "-c", "cat /esc/pwned; test -d /esc && ! test -L /esc && echo dir"], { env: E!.env });
    expect(r).toMatchObject({ code: 0, stdout: "pdir\n" });
    expect(readdirSync(victim)).toEqual([]);
  });

  test("device nodes are skipped with one warning and the image still runs", async () => {
    const devs = ociLayout(join(E!.root, "in/devs"), {
      layers: [busyboxLayer(FIXTURES), { tar: tar([{ name: "dev", type: "dir" }, { name: "dev/null", type: "char", devmajor: 1, devminor: 3 }, { name: "dev/sda", type: "block", devmajor: 8 }, { name: "kept", body: "k" }]) }],
    });
    const r = await rl(["run", "--rm", devs, "cat", "/kept"], { env: E!.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("k");
    expect(r.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^rl: warning: skipped 2 device node\(s\) in the image \(dev\/null, dev\/sda\)/)]);
  });

  test("rl killed while unpacking a large layer leaves no image, and the next command clears its debris", async () => {
    // 2048 files of 48 KiB of incompressible bytes: unpacking takes long enough to be caught in the middle.
    const files: TarSpec[] = [];
    let x = 1;
    for (let i = 0; i < 2048; i++) {
      const body = new Uint8Array(48 << 10);
      for (let k = 0; k < body.length; k += 4) {
        x = (x * 1103515245 + 12345) >>> 0;
        body[k] = x >>> 24;
        body[k + 1] = x >>> 16;
      }
      files.push({ name: `big/f${i}`, body });
    }
    const big = ociLayout(join(E!.root, "in/big"), { layers: [busyboxLayer(FIXTURES), { tar: tar(files), compression: "none" }] });
    const tmp = join(E!.env.RL_ROOT!, "tmp");
    const layersDir = join(E!.env.RL_ROOT!, "layers");
    const layers = () => (existsSync(layersDir) ? readdirSync(layersDir).sort() : []);
    const layersBefore = layers();
    const p = Bun.spawn([RL_BIN, "run", "--rm", big.replace(/^oci:/, "oci:"), "true"], { env: E!.env, stdout: "ignore", stderr: "pipe" });
    // Wait until the unpack has written files into its temp layer, then kill rl.
    const unpacking = () => {
      for (const n of existsSync(tmp) ? readdirSync(tmp) : []) {
        const layerTmp = join(tmp, n);
        if (!n.startsWith("unpack-") || n.endsWith(".json") || !lstatSync(layerTmp).isDirectory()) continue;
        for (const l of readdirSync(layerTmp)) if (existsSync(join(layerTmp, l, "big", "f10"))) return true;
      }
      return false;
    };
    while (!unpacking()) {
      if (p.exitCode !== null) throw new Error(`rl ended before it was caught unpacking: ${await new Response(p.stderr).text()}`);
      await Bun.sleep(5);
    }
    p.kill("SIGKILL");
    await p.exited;
    // The worker dies with rl (parent-death signal); wait until no process still has the job open.
    const jobOwners = () => readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").includes(tmp);
      } catch {
        return false;
      }
    });
    // Bounded: a worker that outlived rl by seconds is itself the failure.
    for (let i = 0; i < 500 && jobOwners().length; i++) await Bun.sleep(10);
    expect(jobOwners()).toEqual([]);
    const debris = readdirSync(tmp).filter((n) => n.startsWith(`unpack-${p.pid}.`));
    expect(debris.length).toBeGreaterThan(0);
    const images = () => {
      const db = new Database(join(E!.env.RL_ROOT!, "rl.db"), { readonly: true });
      try {
        return (db.query("SELECT count(*) AS n FROM images").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const before = images();
    const ps = await rl(["ps", "-a"], { env: E!.env });
    expect(ps.code).toBe(0);
    expect(readdirSync(tmp).filter((n) => n.startsWith("unpack-"))).toEqual([]);
    expect(images()).toBe(before);
    // A layer the killed run had already unpacked (the busybox one, in a worker of its own) is gone too.
    expect(layers()).toEqual(layersBefore);
    // The image was never recorded; running it now unpacks it whole.
    const again = await rl(["run", "--rm", big, "sh", "-c", "ls /big | wc -l"], { env: E!.env });
    expect(again).toMatchObject({ code: 0, stdout: "2048\n" });
  });
});
