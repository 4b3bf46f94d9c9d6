import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flattenLayers } from "../../cli/lib/rootfs/flatten";
import { fillVolume } from "../../cli/lib/rootfs/volume-files";
import { AT_FDCWD, lgetxattrs, lsetxattr, mknod, setTimes } from "../../cli/lib/sys/libc";

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-copy-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const enc = new TextEncoder();
const T1: [number, number] = [1234567890, 123456789];
const T2: [number, number] = [1300000000, 987654321];

/** Two layers (top first) with what a copy has to keep: overlay rules, hard links, a sparse file, times to the nanosecond, xattrs. */
function layers(name: string): string[] {
  const lower = join(work, name, "lower"), upper = join(work, name, "upper");
  mkdirSync(join(lower, "data/gone"), { recursive: true });
  mkdirSync(join(lower, "data/opq"), { recursive: true });
  writeFileSync(join(lower, "data/gone/f"), "hidden");
  writeFileSync(join(lower, "data/opq/old"), "hidden");
  writeFileSync(join(lower, "data/low"), "from below\n");
  mkdirSync(join(upper, "data/opq"), { recursive: true });
  mkdirSync(join(upper, "data/sub"), { recursive: true });
  mknod(join(upper, "data/gone"), "whiteout");
  lsetxattr(join(upper, "data/opq"), "user.overlay.opaque", enc.encode("y"));
  writeFileSync(join(upper, "data/opq/new"), "only this\n");
  writeFileSync(join(upper, "data/sub/file"), "file\n");
  linkSync(join(upper, "data/sub/file"), join(upper, "data/hard"));
  chmodSync(join(upper, "data/sub/file"), 0o4751);
  lsetxattr(join(upper, "data/sub/file"), "user.note", enc.encode("kept"));
  symlinkSync("/etc/passwd", join(upper, "data/link"));
  mknod(join(upper, "data/fifo"), "fifo");
  const sparse = openSync(join(upper, "data/sparse"), "w");
  writeSync(sparse, "start", 0);
  writeSync(sparse, "end", 8 << 20);
  ftruncateSync(sparse, 16 << 20);
  closeSync(sparse);
  chmodSync(join(upper, "data/sub"), 0o710);
  chmodSync(join(upper, "data"), 0o750);
  for (const f of ["data/sub/file", "data/link", "data/sub", "data"]) setTimes(AT_FDCWD, join(upper, f), T1, T2, f);
  return [upper, lower];
}

const ns = (p: string) => {
  const st = statSync(p, { bigint: true });
  return [st.atimeNs, st.mtimeNs];
};
const at = ([s, n]: [number, number]) => BigInt(s) * 1_000_000_000n + BigInt(n);

test("copyMergedTree (as the vfs driver's flattenLayers): the merged view with modes, times to the nanosecond, xattrs, hard links, holes; links copied, never followed", () => {
  const [upper, lower] = layers("tree");
  const dest = join(work, "tree-copy");
  flattenLayers([lower!, upper!], dest);
  const data = join(dest, "data");
  // Times first: listing a directory, or reading a link, moves its atime.
  const link = lstatSync(join(data, "link"), { bigint: true });
  expect([link.atimeNs, link.mtimeNs]).toEqual([at(T1), at(T2)]);
  for (const f of ["sub/file", "sub", "."]) expect({ f, times: ns(join(data, f)) }).toEqual({ f, times: [at(T1), at(T2)] });
  expect(readdirSync(data).sort()).toEqual(["fifo", "hard", "link", "low", "opq", "sparse", "sub"]);
  expect(readdirSync(join(data, "opq"))).toEqual(["new"]);
  expect(readFileSync(join(data, "low"), "utf8")).toBe("from below\n");
  expect(statSync(join(data, "sub/file")).mode & 0o7777).toBe(0o4751);
  expect(statSync(join(data, "sub/file")).ino).toBe(statSync(join(data, "hard")).ino);
  expect([...lgetxattrs(join(data, "sub/file"))].map(([k, v]) => `${k}=${new TextDecoder().decode(v)}`)).toEqual(["user.note=kept"]);
  expect(lgetxattrs(join(data, "opq")).size).toBe(0); // overlay's own marker stays behind
  expect(readlinkSync(join(data, "link"))).toBe("/etc/passwd");
  expect(lstatSync(join(data, "fifo")).isFIFO()).toBe(true);
  const sparse = statSync(join(data, "sparse"));
  expect(sparse.size).toBe(16 << 20);
  expect(sparse.blocks * 512).toBeLessThan(1 << 20);
  expect(readFileSync(join(data, "sparse")).subarray(8 << 20, (8 << 20) + 3).toString()).toBe("end");
  expect(statSync(join(data, "sub")).mode & 0o7777).toBe(0o710);
  expect(statSync(data).mode & 0o7777).toBe(0o750);
});

test("fillVolume: the image's directory at the path; what is already in the volume stays, a link there is never followed", () => {
  const [upper, lower] = layers("vol");
  const volume = join(work, "volumes/v1");
  const data = join(volume, "_data");
  const outside = join(work, "outside");
  mkdirSync(data, { recursive: true });
  mkdirSync(outside);
  // A container that uses the volume already put a symlink to a host directory where the image has a directory.
  symlinkSync(outside, join(data, "sub"));
  // A fill that was killed left its copy.
  mkdirSync(join(volume, "_data.fill"));
  writeFileSync(join(volume, "_data.fill/stale"), "old");
  expect(fillVolume([upper!, lower!], "/data", data)).toBe(true);
  expect(readdirSync(data).sort()).toEqual(["fifo", "hard", "link", "low", "opq", "sparse", "sub"]);
  expect(readlinkSync(join(data, "sub"))).toBe(outside);
  expect(readdirSync(outside)).toEqual([]);
  expect(readdirSync(volume)).toEqual(["_data"]);
  expect(statSync(data).mode & 0o7777).toBe(0o750);
  // Nothing there in the image: nothing done.
  const empty = join(work, "volumes/v2/_data");
  mkdirSync(empty, { recursive: true });
  for (const path of ["/nothing", "/data/low", "/data/gone", "/data/opq/old"]) expect({ path, filled: fillVolume([upper!, lower!], path, empty) }).toEqual({ path, filled: false });
  expect(readdirSync(join(work, "volumes/v2"))).toEqual(["_data"]);
  expect(existsSync(join(empty, "low"))).toBe(false);
});
