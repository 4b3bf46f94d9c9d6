import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyLayer } from "../../cli/lib/rootfs/apply-layer";
import { tarEntries } from "../../cli/lib/image/tar-entries";
import { tar, type TarSpec } from "../integration/hostile-inputs";
import { repeatedEntries, SPARSE_FORMATS, SPARSE_SIZE, writeSparseFile } from "../integration/layer-dialects";

// Made in beforeAll, not at load, so a run that -t filters away leaves nothing in /tmp.
let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-apply-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Build a tar with GNU tar (and its `args`) from a directory tree made by `make`. */
function tarOf(name: string, make: (dir: string) => void, members?: string[], args: string[] = []): Uint8Array {
  const src = join(work, `${name}-src`);
  mkdirSync(src);
  make(src);
  const r = Bun.spawnSync(["tar", "-C", src, "-cf", "-", "--owner=0", "--group=0", ...args, ...(members ? ["--no-recursion", ...members] : ["."])]);
  return new Uint8Array(r.stdout);
}

async function apply(name: string, bytes: Uint8Array) {
  const dir = join(work, name);
  mkdirSync(dir);
  async function* one() {
    yield bytes;
  }
  const r = await applyLayer(tarEntries(one()), dir, { chown: false, idLimit: { uids: 1, gids: 1 } });
  return { dir, r };
}

describe("applyLayer", () => {
  test("files, dirs, symlinks, hardlinks, modes and setuid", async () => {
    const { dir } = await apply("basic", tarOf("basic", (s) => {
      mkdirSync(join(s, "d"));
      writeFileSync(join(s, "d/f"), "hello");
      Bun.spawnSync(["chmod", "4755", join(s, "d/f")]);
      Bun.spawnSync(["ln", "-s", "f", join(s, "d/l")]);
      Bun.spawnSync(["ln", join(s, "d/f"), join(s, "d/h")]);
    }));
    expect(readFileSync(join(dir, "d/f"), "utf8")).toBe("hello");
    expect(lstatSync(join(dir, "d/f")).mode & 0o7777).toBe(0o4755);
    expect(readlinkSync(join(dir, "d/l"))).toBe("f");
    expect(lstatSync(join(dir, "d/h")).ino).toBe(lstatSync(join(dir, "d/f")).ino);
  });

  test("OCI whiteouts become overlay whiteouts (char 0/0) and opaque xattrs", async () => {
    const { dir } = await apply("wh", tarOf("wh", (s) => {
      mkdirSync(join(s, "gone-parent"));
      writeFileSync(join(s, "gone-parent/.wh.gone"), "");
      mkdirSync(join(s, "opaque"));
      writeFileSync(join(s, "opaque/.wh..wh..opq"), "");
      writeFileSync(join(s, "opaque/kept"), "k");
    }));
    const st = lstatSync(join(dir, "gone-parent/gone"));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(existsSync(join(dir, "gone-parent/.wh.gone"))).toBe(false);
    const x = Bun.spawnSync(["python3", "-c", `import os;print(os.getxattr(${JSON.stringify(join(dir, "opaque"))}, "user.overlay.opaque"))`]);
    expect(x.stdout.toString().trim()).toBe("b'y'");
    expect(readFileSync(join(dir, "opaque/kept"), "utf8")).toBe("k");
  });

  test("an entry through a symlink made earlier in the layer is refused", async () => {
    const bytes = tarOf("escape", (s) => {
      Bun.spawnSync(["ln", "-s", "/tmp", join(s, "link")]);
    }, ["link"]);
    // Append "link/pwned" by hand: GNU tar will not archive a path through a symlink.
    const payload = tarOf("escape2", (s) => {
      mkdirSync(join(s, "link"));
      writeFileSync(join(s, "link/pwned"), "x");
    }, ["link/pwned"]);
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    end = Math.ceil(end / 512) * 512; // drop the end-of-archive blocks and GNU tar's record padding
    const entries = async function* () {
      yield bytes.subarray(0, end);
      yield payload;
    };
    const dir = join(work, "escape-out");
    mkdirSync(dir);
    await expect(applyLayer(tarEntries(entries()), dir, { chown: false, idLimit: { uids: 1, gids: 1 } })).rejects.toThrow(/symlink link/);
    expect(existsSync("/tmp/pwned")).toBe(false);
  });

  test("device nodes are skipped and reported", async () => {
    const dev = new Uint8Array(1536);
    const h = dev.subarray(0, 512);
    const put = (off: number, s: string) => h.set(new TextEncoder().encode(s), off);
    put(0, "dev/null");
    put(100, "0000644\0");
    put(108, "0000000\0");
    put(116, "0000000\0");
    put(124, "00000000000\0");
    put(136, "00000000000\0");
    put(156, "3");
    put(257, "ustar\0");
    put(263, "00");
    put(329, "0000001\0");
    put(337, "0000003\0");
    put(148, "        ");
    const sum = h.reduce((a, b) => a + b, 0);
    put(148, sum.toString(8).padStart(6, "0") + "\0 ");
    const { r, dir } = await apply("dev", dev);
    expect(r.skippedDevices).toEqual(["dev/null"]);
    expect(existsSync(join(dir, "dev/null"))).toBe(false);
  });

  test("hardlinks across directories, also to a directory opened long before", async () => {
    const specs: TarSpec[] = [];
    for (let i = 0; i < 12; i++) specs.push({ name: `a${i}`, type: "dir" }, { name: `a${i}/f`, body: `file ${i}` });
    specs.push({ name: "a11/h0", type: "hardlink", link: "a0/f" }, { name: "b/c/h5", type: "hardlink", link: "./a5/f" });
    const { dir } = await apply("xlinks", tar(specs));
    expect(lstatSync(join(dir, "a11/h0")).ino).toBe(lstatSync(join(dir, "a0/f")).ino);
    expect(readFileSync(join(dir, "b/c/h5"), "utf8")).toBe("file 5");
    expect(lstatSync(join(dir, "b/c/h5")).nlink).toBe(2);
  });

  test("times: files, directories (after their children) and symlinks (without following them)", async () => {
    const { dir } = await apply("times", tar([
      { name: "d", type: "dir", mtime: 1_000_000_000 },
      { name: "d/f", body: "x", mtime: 1_100_000_000 },
      { name: "d/l", type: "symlink", link: "/nonexistent", mtime: 1_200_000_000 },
      { name: "d/p", type: "fifo", mtime: 1_300_000_000, mode: 0o640 },
    ]));
    expect(lstatSync(join(dir, "d")).mtimeMs).toBe(1_000_000_000_000);
    expect(lstatSync(join(dir, "d/f")).mtimeMs).toBe(1_100_000_000_000);
    expect(lstatSync(join(dir, "d/l")).mtimeMs).toBe(1_200_000_000_000);
    expect(lstatSync(join(dir, "d/p")).isFIFO()).toBe(true);
    expect(lstatSync(join(dir, "d/p")).mode & 0o7777).toBe(0o640);
  });

  test("names as kaniko and other builders write them: a leading / or ./ is the layer's root", async () => {
    const { dir } = await apply("kaniko", tar([
      { name: "/", type: "dir", mode: 0o751, mtime: 1_000_000_000 },
      { name: "/etc", type: "dir", mode: 0o755 },
      { name: "/etc/x", body: "abs" },
      { name: "./etc/y", body: "dot" },
      { name: ".//etc//z", body: "slashes" },
      { name: "/etc/h", type: "hardlink", link: "/etc/x" },
      { name: "./etc/h2", type: "hardlink", link: ".//etc//y" },
      { name: "/.wh.gone", body: "" },
      { name: "./opq/.wh..wh..opq", body: "" },
      { name: "./", type: "dir", mode: 0o755, mtime: 1_100_000_000 },
    ]));
    expect(readFileSync(join(dir, "etc/x"), "utf8")).toBe("abs");
    expect(readFileSync(join(dir, "etc/y"), "utf8")).toBe("dot");
    expect(readFileSync(join(dir, "etc/z"), "utf8")).toBe("slashes");
    expect(lstatSync(join(dir, "etc/h")).ino).toBe(lstatSync(join(dir, "etc/x")).ino);
    expect(lstatSync(join(dir, "etc/h2")).ino).toBe(lstatSync(join(dir, "etc/y")).ino);
    expect(lstatSync(join(dir, "gone")).isCharacterDevice()).toBe(true);
    const x = Bun.spawnSync(["python3", "-c", `import os;print(os.getxattr(${JSON.stringify(join(dir, "opq"))}, "user.overlay.opaque"))`]);
    expect(x.stdout.toString().trim()).toBe("b'y'");
    // The root entries' metadata went to the layer directory itself; the last one wins.
    expect(lstatSync(dir).mode & 0o7777).toBe(0o755);
    expect(lstatSync(dir).mtimeMs).toBe(1_100_000_000_000);
    expect(readdirSync(dir).sort()).toEqual(["etc", "gone", "opq"]);
  });

  test.each([
    ["/../escaped", /climbs out of the layer/],
    ["/etc/../../escaped", /climbs out of the layer/],
    ["./../escaped", /climbs out of the layer/],
  ])("%j is still refused", async (name, error) => {
    const dir = join(work, `esc-${name.replace(/\W/g, "_")}`);
    mkdirSync(dir);
    await expect(applyLayer(tarEntries((async function* () { yield tar([{ name, body: "x" }]); })()), dir, { chown: false, idLimit: { uids: 1, gids: 1 } })).rejects.toThrow(error);
    expect(existsSync(join(work, "escaped"))).toBe(false);
  });

  test("an entry repeated in a layer replaces the earlier one; two directories merge", async () => {
    const { dir } = await apply("last-wins", tar([
      ...repeatedEntries(""),
      { name: "f2s", body: "was a file" },
      { name: "f2s", type: "symlink", link: "elsewhere" },
      { name: "merge", type: "dir", mode: 0o700, mtime: 1_000_000_000 },
      { name: "merge/a", body: "a" },
      { name: "merge", type: "dir", mode: 0o751, mtime: 1_300_000_000 },
      { name: "merge/b", body: "b" },
      { name: "orig", body: "first" },
      { name: "link", type: "hardlink", link: "orig" },
      { name: "orig", body: "second" },
    ]));
    expect(lstatSync(join(dir, "f2d")).isDirectory()).toBe(true);
    expect(lstatSync(join(dir, "f2d")).mode & 0o7777).toBe(0o750);
    expect(readFileSync(join(dir, "f2d/in"), "utf8")).toBe("in");
    expect(readFileSync(join(dir, "d2f"), "utf8")).toBe("now a file");
    expect(lstatSync(join(dir, "d2f")).mtimeMs).toBe(1_200_000_000_000);
    expect(readFileSync(join(dir, "s2f"), "utf8")).toBe("was a symlink");
    expect(lstatSync(join(dir, "s2f")).isFile()).toBe(true);
    expect(readlinkSync(join(dir, "f2s"))).toBe("elsewhere");
    expect(readdirSync(join(dir, "merge")).sort()).toEqual(["a", "b"]);
    expect(lstatSync(join(dir, "merge")).mode & 0o7777).toBe(0o751);
    expect(lstatSync(join(dir, "merge")).mtimeMs).toBe(1_300_000_000_000);
    // A hardlink made before its target was replaced keeps the first file.
    expect(readFileSync(join(dir, "link"), "utf8")).toBe("first");
    expect(readFileSync(join(dir, "orig"), "utf8")).toBe("second");
    expect(readFileSync(join(dir, "twice"), "utf8")).toBe("two");
    expect(lstatSync(join(dir, "twice")).mode & 0o7777).toBe(0o600);
  });

  test("a directory replaced by a file takes what it held; nothing is written through the old one", async () => {
    const { dir } = await apply("replaced-dir", tar([
      { name: "d", type: "dir" },
      { name: "d/old", body: "old" },
      { name: "d", type: "symlink", link: join(work, "outside") },
      { name: "e/f", body: "e" },
      { name: "e", body: "file" },
      { name: "e", type: "dir", mode: 0o700 },
      { name: "e/g", body: "g" },
    ]));
    expect(readlinkSync(join(dir, "d"))).toBe(join(work, "outside"));
    expect(readdirSync(join(dir, "e"))).toEqual(["g"]);
    const throughLink = join(work, "replaced-dir-2");
    mkdirSync(throughLink);
    const bytes = tar([{ name: "d", type: "dir" }, { name: "d", type: "symlink", link: join(work, "outside") }, { name: "d/x", body: "x" }]);
    await expect(applyLayer(tarEntries((async function* () { yield bytes; })()), throughLink, { chown: false, idLimit: { uids: 1, gids: 1 } })).rejects.toThrow(/refusing file "d\/x": it goes through the symlink d/);
    expect(existsSync(join(work, "outside"))).toBe(false);
  });

  test("a hardlink to its own name is refused", async () => {
    const d = join(work, "self-link");
    mkdirSync(d);
    const bytes = tar([{ name: "a", body: "a" }, { name: "a", type: "hardlink", link: "./a" }]);
    await expect(applyLayer(tarEntries((async function* () { yield bytes; })()), d, { chown: false, idLimit: { uids: 1, gids: 1 } })).rejects.toThrow(/refusing hardlink "a" → ".\/a": its target is not a file earlier in this layer/);
  });

  test("directories after their contents end with their own mode and time", async () => {
    const { dir } = await apply("dirs-after", tar([
      { name: "a/b/f", body: "f", mtime: 1_100_000_000 },
      { name: "a/b", type: "dir", mode: 0o750, mtime: 1_200_000_000 },
      { name: "a", type: "dir", mode: 0o711, mtime: 1_300_000_000 },
    ]));
    expect(readFileSync(join(dir, "a/b/f"), "utf8")).toBe("f");
    expect([lstatSync(join(dir, "a/b")).mode & 0o7777, lstatSync(join(dir, "a/b")).mtimeMs]).toEqual([0o750, 1_200_000_000_000]);
    expect([lstatSync(join(dir, "a")).mode & 0o7777, lstatSync(join(dir, "a")).mtimeMs]).toEqual([0o711, 1_300_000_000_000]);
  });

  test.each(Object.entries(SPARSE_FORMATS))("a sparse file (%s) is written with its holes", async (format, args) => {
    const name = `sparse-${format.replace(/\W/g, "")}`;
    const { dir } = await apply(name, tarOf(name, (s) => writeSparseFile(join(s, "disk.img")), ["disk.img"], args));
    const got = lstatSync(join(dir, "disk.img"));
    expect(got.size).toBe(SPARSE_SIZE);
    // 45 pieces of at most 8 KiB each are allocated; the 12 MiB around them are holes.
    expect(got.blocks * 512).toBeLessThan(1 << 20);
    expect(Buffer.compare(readFileSync(join(dir, "disk.img")), readFileSync(join(work, `${name}-src`, "disk.img")))).toBe(0);
  });

  test("a file replaces a whiteout made earlier in the layer; xattrs from overlay's namespace are not taken", async () => {
    const { dir } = await apply("rewhite", tar([
      { name: ".wh.x", body: "" },
      { name: "x", body: "back", pax: { "SCHILY.xattr.user.overlay.redirect": "/etc", "SCHILY.xattr.user.kept": "k" } },
    ]));
    expect(readFileSync(join(dir, "x"), "utf8")).toBe("back");
    const xattrs = Bun.spawnSync(["python3", "-c", `import os;print(sorted(os.listxattr(${JSON.stringify(join(dir, "x"))})))`]).stdout.toString().trim();
    expect(xattrs).toBe("['user.kept']");
  });
});
