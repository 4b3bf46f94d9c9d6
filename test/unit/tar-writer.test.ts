import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readlinkSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concat, paxTime, TarFileWriter, tarHeader, type TarWriteEntry } from "../../cli/lib/image/tar-writer";
import { lgetxattrs } from "../../cli/lib/sys/libc";

// What rl's tar writer produces is checked by reading it with GNU tar, the reference reader.
const hasTar = Bun.spawnSync(["tar", "--version"]).stdout.toString().includes("GNU tar");
if (!hasTar) console.log("skipping tar writer tests against GNU tar: GNU tar is not installed");

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-tarw-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const enc = new TextEncoder();

async function archive(name: string, members: [TarWriteEntry, Uint8Array?][]): Promise<string> {
  const file = join(work, name);
  const fd = openSync(file, "w");
  const tar = new TarFileWriter((b) => {
    writeSync(fd, b);
  });
  for (const [e, data] of members) await tar.add(e, data);
  await tar.end();
  closeSync(fd);
  return file;
}

function gnuTar(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(["tar", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, TZ: "UTC", LC_ALL: "C.UTF-8" } });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** `tar -tv --full-time` lines as [mode owner size time, name]. */
function listing(file: string, numeric: boolean): Map<string, string> {
  const r = gnuTar(["-tvf", file, "--full-time", ...(numeric ? ["--numeric-owner"] : [])]);
  expect(r.stderr).toBe("");
  const out = new Map<string, string>();
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const m = /^(\S+) (\S+)\s+(\S+) (\S+ \S+)\s+(.*)$/.exec(line)!;
    out.set(m[5]!, `${m[1]} ${m[2]} ${m[3]} ${m[4]}`);
  }
  return out;
}

const u = "\u00fc"; // ü: 2 bytes in UTF-8, 1 UTF-16 unit
const LONG_UTF8 = `dir-${u.repeat(10)}/${u.repeat(45)}`; // 115 bytes, fits ustar's prefix/name split
const VERY_LONG = `${"deep/".repeat(40)}${u.repeat(70)}`; // 340 bytes: only pax can hold it
const LINK = "\u00e9".repeat(80); // 160 bytes
const NINE_GIB = 9 * 2 ** 30;

describe.skipIf(!hasTar)("the tar writer, read by GNU tar", () => {
  let file = "";
  beforeAll(async () => {
    file = await archive("fields.tar", [
      [{ path: "dir", type: "dir", mode: 0o750, mtime: 1_700_000_000 }],
      [{ path: LONG_UTF8, type: "file", size: 3, mode: 0o640, uid: 3_000_000, gid: 4_000_000, mtime: 1_700_000_000.25, xattrs: { "user.bin": new Uint8Array([0, 0xff, 0x3d, 10]) } }, enc.encode("abc")],
      [{ path: VERY_LONG, type: "file", size: 2, uname: "a-user-name-longer-than-32-bytes-xx", gname: "staff", mtime: -1.5 }, enc.encode("hi")],
      [{ path: "link", type: "symlink", linkpath: LINK, mtime: 1_600_000_000 }],
      [{ path: "hard", type: "hardlink", linkpath: LONG_UTF8 }],
      [{ path: "sparse", type: "file", size: NINE_GIB, mode: 0o600, sparse: [{ offset: 1 << 20, length: 512 }, { offset: NINE_GIB - 3, length: 3 }, { offset: NINE_GIB, length: 0 }] }, concat([enc.encode("hello"), new Uint8Array(507), enc.encode("END")])],
      [{ path: "after-sparse", type: "file", size: 2 }, enc.encode("ok")],
      [{ path: "holes-only", type: "file", size: 1 << 30, sparse: [{ offset: 1 << 30, length: 0 }] }],
    ]);
  });

  test("names and link targets by UTF-8 bytes, ids, owners' names, times, device numbers, sizes", () => {
    const byId = listing(file, true);
    expect(byId.get(`${LONG_UTF8}`)).toBe("-rw-r----- 3000000/4000000 3 2023-11-14 22:13:20.25");
    expect(byId.get(VERY_LONG)).toBe("-rw-r--r-- 0/0 2 1969-12-31 23:59:59.5"); // GNU tar prints -1.5 s so; extraction below is exact
    expect(byId.get(`link -> ${LINK}`)).toBe("lrw-r--r-- 0/0 0 2020-09-13 12:26:40");
    expect(byId.get(`hard link to ${LONG_UTF8}`)).toMatch(/^hrw-r--r-- 0\/0 0 /);
    expect(byId.get("sparse")).toBe(`-rw------- 0/0 ${NINE_GIB} 1970-01-01 00:00:00`);
    expect(byId.get("holes-only")).toBe(`-rw-r--r-- 0/0 ${2 ** 30} 1970-01-01 00:00:00`);
    expect(listing(file, false).get(VERY_LONG)).toStartWith("-rw-r--r-- a-user-name-longer-than-32-bytes-xx/staff 2 ");
  });

  test("extracted with --xattrs: contents, modes, exact times, xattrs, holes as holes", () => {
    const dest = join(work, "x");
    mkdirSync(dest);
    const r = gnuTar(["--xattrs", "-xpf", file, "-C", dest]);
    expect(r.stderr.replace(/^tar: .*implausibly old time stamp.*\n/m, "")).toBe("");
    expect(readFileSync(join(dest, LONG_UTF8), "utf8")).toBe("abc");
    expect(statSync(join(dest, LONG_UTF8)).mode & 0o7777).toBe(0o640);
    expect(statSync(join(dest, LONG_UTF8), { bigint: true }).mtimeNs).toBe(1_700_000_000_250_000_000n);
    expect(statSync(join(dest, VERY_LONG), { bigint: true }).mtimeNs).toBe(-1_500_000_000n);
    expect([...lgetxattrs(join(dest, LONG_UTF8))]).toEqual([["user.bin", new Uint8Array([0, 0xff, 0x3d, 10])]]);
    expect(readlinkSync(join(dest, "link"))).toBe(LINK);
    expect(lstatSync(join(dest, "hard")).ino).toBe(lstatSync(join(dest, LONG_UTF8)).ino);
    expect(statSync(join(dest, "dir")).mode & 0o7777).toBe(0o750);
    const sparse = statSync(join(dest, "sparse"));
    expect(sparse.size).toBe(NINE_GIB);
    expect(sparse.blocks * 512).toBeLessThan(1 << 20); // written as holes, not 9 GiB of zeros
    const fd = openSync(join(dest, "sparse"), "r");
    const at = (pos: number, n: number) => {
      const b = Buffer.alloc(n);
      readSync(fd, b, 0, n, pos);
      return b.toString("latin1");
    };
    expect(at((1 << 20) - 2, 9)).toBe("\0\0hello\0\0");
    expect(at(NINE_GIB - 4, 4)).toBe("\0END");
    expect(at(12345, 4)).toBe("\0\0\0\0");
    closeSync(fd);
    expect(statSync(join(dest, "holes-only")).size).toBe(2 ** 30);
    expect(readFileSync(join(dest, "after-sparse"), "utf8")).toBe("ok");
  });
});

test.skipIf(!hasTar)("device numbers beyond octal go in base-256, which GNU tar reads", async () => {
  const file = await archive("dev.tar", [[{ path: "dev", type: "char", devmajor: 300, devminor: 5_000_000 }]]);
  expect(listing(file, true).get("dev")).toBe("crw-r--r-- 0/0 300,5000000 1970-01-01 00:00:00");
});

describe("ustar fields for readers that ignore pax", () => {
  const field = (block: Uint8Array, off: number, len: number) => {
    const b = block.subarray(off, off + len);
    const end = b.indexOf(0);
    return new TextDecoder("utf-8", { fatal: true }).decode(end < 0 ? b : b.subarray(0, end));
  };

  test("a name of non-ASCII letters over 100 bytes is split at a slash, whole letters only, without pax", () => {
    const h = tarHeader({ path: LONG_UTF8, type: "file", size: 0 });
    expect(h.length).toBe(512); // no pax header needed
    expect(field(h, 345, 155)).toBe(`dir-${u.repeat(10)}`);
    expect(field(h, 0, 100)).toBe(u.repeat(45));
  });

  test("a name only pax can hold leaves a valid UTF-8 prefix in the name field, never an empty one", () => {
    const h = tarHeader({ path: u.repeat(200), type: "file", size: 0 });
    const main = h.subarray(h.length - 512);
    expect(field(main, 0, 100)).toBe(u.repeat(50));
    const owner = tarHeader({ path: "f", type: "file", uname: u.repeat(20) });
    expect(field(owner.subarray(owner.length - 512), 265, 32)).toBe(u.repeat(15));
  });

  test("sparse runs GNU tar and Go would read differently are refused", () => {
    expect(() => tarHeader({ path: "s", type: "file", size: 4096, sparse: [{ offset: 10, length: 5 }, { offset: 600, length: 5 }, { offset: 4096, length: 0 }] })).toThrow(/512-byte blocks/);
    expect(() => tarHeader({ path: "s", type: "file", size: 4096, sparse: [{ offset: 0, length: 512 }] })).toThrow(/empty run/);
  });

  test("pax times keep fractions and signs exactly", () => {
    expect(paxTime(1_700_000_000.25)).toBe("1700000000.25");
    expect(paxTime(-1.5)).toBe("-1.5");
    expect(paxTime(-0.000000001)).toBe("-0.000000001");
    expect(paxTime(42)).toBe("42");
    const h = tarHeader({ path: "t", type: "file", mtime: 5 });
    expect(h.length).toBe(512);
  });
});
