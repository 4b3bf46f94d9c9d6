import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyLayer } from "../../cli/lib/rootfs/apply-layer";
import { tarEntries } from "../../cli/lib/image/tar-entries";
import { tar, type TarSpec } from "../integration/hostile-inputs";

// Made in beforeAll, not at load, so a run that -t filters away leaves nothing in /tmp.
let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-apply-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Build a tar with GNU tar from a directory tree made by `make`. */
function tarOf(name: string, make: (dir: string) => void, members?: string[]): Uint8Array {
  const src = join(work, `${name}-src`);
  mkdirSync(src);
  make(src);
  const r = Bun.spawnSync(["tar", "-C", src, "-cf", "-", "--owner=0", "--group=0", ...(members ? ["--no-recursion", ...members] : ["."])]);
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
