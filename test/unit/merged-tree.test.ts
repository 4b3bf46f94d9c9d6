import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeLevels, confinedTree, openMergedDir } from "../../cli/lib/rootfs/confined-tree";
import { lsetxattr, mknod } from "../../cli/lib/sys/libc";

// Made in beforeAll, not at load, so a run that -t filters away leaves nothing in /tmp.
let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-merged-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function layer(name: string, files: Record<string, string | null>): string {
  const root = join(work, name);
  mkdirSync(root);
  for (const [rel, body] of Object.entries(files)) {
    const path = join(root, rel);
    if (body === null) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, body);
    }
  }
  return root;
}

/** Where a descriptor is, below `work`. */
const where = (fd: number) => readlinkSync(`/proc/self/fd/${fd}`).slice(work.length + 1);
/** Where openMergedDir finds `path`: its layer directories, below `work`. */
function mergedDirAt(dirs: string[], path: string): string[] | undefined {
  const levels = openMergedDir(dirs, path);
  if (!levels) return undefined;
  const found = levels.map((l) => where(l.fd));
  closeLevels(levels);
  return found;
}
const view = (dirs: string[]) => Array.from(confinedTree(dirs), (e) => `${e.rel}<${where(e.fd).split("/")[0]}`); // each while its descriptor is open

test("upper entries hide lower ones; directories merge and come before their children, names sorted", () => {
  const lower = layer("l1", { "a/x": "1", "a/y": "1", b: "1", "c/z": "1" });
  const upper = layer("l2", { "a/x": "2", b: "2", d: "2" });
  expect(view([upper, lower])).toEqual(["a<l2", "a/x<l2", "a/y<l1", "b<l2", "c<l1", "c/z<l1", "d<l2"]);
});

test("fuse-overlayfs .wh. files hide names below; .wh..wh..opq and the opaque xattr hide lower directories", () => {
  const lower = layer("m1", { "gone/f": "1", kept: "1", "opq/old": "1", "xopq/old": "1" });
  const upper = layer("m2", { ".wh.gone": "", "opq/.wh..wh..opq": "", "opq/new": "2", "xopq/new": "2" });
  lsetxattr(join(upper, "xopq"), "user.overlay.opaque", new TextEncoder().encode("y"));
  expect(view([upper, lower])).toEqual(["kept<m1", "opq<m2", "opq/new<m2", "xopq<m2", "xopq/new<m2"]);
});

test("a file or symlink above a directory replaces it and its contents", () => {
  const lower = layer("n1", { "d/inner": "1", "e/inner": "1" });
  const upper = layer("n2", { d: "file" });
  symlinkSync("/elsewhere", join(upper, "e"));
  const entries = [...confinedTree([upper, lower])].map((e) => `${e.rel}${e.link ? ` -> ${e.link}` : ""}`);
  expect(entries).toEqual(["d", "e -> /elsewhere"]);
});

// The walk of trees a container controls (export): through descriptors only (rootfs/confined-tree.ts).
test("char 0/0 whiteouts hide names below, as the .wh. files do", () => {
  const lower = layer("c1", { "a/x": "1", "gone/f": "1", kept: "1" });
  const upper = layer("c2", { "a/y": "2" });
  mknod(join(upper, "gone"), "whiteout");
  mknod(join(upper, "a/x"), "whiteout");
  expect(view([upper, lower])).toEqual(["a<c2", "a/y<c2", "kept<c1"]);
});

test("a directory swapped for a symlink to outside while it is walked: the walk stays on what it opened", () => {
  const outside = layer("outside", { "secret": "host file" });
  const tree = layer("tree", { "d/inner": "inside", "e": "e" });
  const seen: string[] = [];
  for (const e of confinedTree([tree])) {
    seen.push(`${e.rel}${e.link ? ` -> ${e.link}` : ""}`);
    if (e.rel === "d") {
      // The container renames the directory away and puts a symlink in its place.
      renameSync(join(tree, "d"), join(tree, "moved"));
      symlinkSync(outside, join(tree, "d"));
    }
  }
  expect(seen).toEqual(["d", "d/inner", "e"]);
  // Walked again, the symlink is an entry, never followed.
  const again = [...confinedTree([tree])].map((e) => `${e.rel}${e.link ? ` -> ${e.link}` : ""}`);
  expect(again).toEqual([`d -> ${outside}`, "e", "moved", "moved/inner"]);
});

test("openMergedDir: the layer directories of a path, through whiteouts and opaque directories", () => {
  const lower = layer("d1", { "v/a/x": "1", "v/b/y": "1", "w/z": "1", "gone/q": "1", "wgone/q": "1" });
  const upper = layer("d2", { "v/a/x2": "2", "v/b/.wh..wh..opq": "", ".wh.gone": "", file: "2" });
  mknod(join(upper, "wgone"), "whiteout");
  const at = (path: string) => mergedDirAt([upper, lower], path);
  expect(at("/v/a")).toEqual(["d2/v/a", "d1/v/a"]);
  expect(at("v/b/")).toEqual(["d2/v/b"]);
  expect(at("/w")).toEqual(["d1/w"]);
  expect(at("/")).toEqual(["d2", "d1"]);
  // Below an opaque directory (the .wh..wh..opq file of fuse-overlayfs), the lower layer's is hidden.
  mkdirSync(join(lower, "v/b/deeper"));
  mkdirSync(join(upper, "v/b/deeper"));
  expect(at("/v/b/deeper")).toEqual(["d2/v/b/deeper"]);
  for (const missing of ["/gone", "/gone/q", "/wgone", "/wgone/q", "/nothing", "/file", "/file/x", "/v/a/x", `/${"n".repeat(253)}`, `/v/${"n".repeat(300)}`]) expect({ missing, dirs: at(missing) }).toEqual({ missing, dirs: undefined });
});

test("openMergedDir: symlinks resolve inside the image, as the container's mount does; never to the host", () => {
  const outside = layer("host", { "secret/password": "host" });
  const lower = layer("e1", { "srv/data/f": "1", "w/z": "1" });
  // The image has the host's path too, empty: that is where an absolute link leads inside the container.
  const upper = layer("e2", { [`${outside}/secret/`]: null });
  symlinkSync("srv/data", join(upper, "rel"));
  symlinkSync("/srv/data", join(upper, "abs"));
  symlinkSync(`${outside}/secret`, join(upper, "hostabs"));
  symlinkSync("../../../../../../../../../..", join(upper, "up"));
  symlinkSync("/nowhere", join(upper, "dangling"));
  symlinkSync("loop", join(upper, "loop"));
  mkdirSync(join(upper, "srv"));
  symlinkSync(`../../../../../../..${outside}/secret`, join(upper, "srv/hostrel"));
  const at = (path: string) => mergedDirAt([upper, lower], path);
  expect(at("/rel")).toEqual(["e1/srv/data"]);
  expect(at("/abs")).toEqual(["e1/srv/data"]);
  expect(at("/up/up/srv/data")).toEqual(["e1/srv/data"]);
  expect(at("/v/../../../w")).toBeUndefined(); // v is missing: nothing to climb out of
  expect(at("/srv/../../../w")).toEqual(["e1/w"]);
  const inImage = `e2${outside}/secret`;
  for (const path of ["/hostabs", "/srv/hostrel", `/up${outside}/secret`, `/up/up/up${outside}/secret/.`]) expect({ path, dirs: at(path) }).toEqual({ path, dirs: [inImage] });
  for (const missing of ["/dangling", "/loop", "/hostabs/password", "/srv/hostrel/password"]) expect({ missing, dirs: at(missing) }).toEqual({ missing, dirs: undefined });
});
