import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confinedTree } from "../../cli/lib/rootfs/confined-tree";
import { mergedDirAt, mergedTree } from "../../cli/lib/rootfs/merged-tree";
import { lsetxattr } from "../../cli/lib/sys/libc";

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

const view = (dirs: string[]) => [...mergedTree(dirs)].map((e) => `${e.rel}<${e.source.slice(work.length + 1).split("/")[0]}`);

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
  const entries = [...mergedTree([upper, lower])];
  expect(entries.map((e) => e.rel)).toEqual(["d", "e"]);
  expect(entries[1]!.st.isSymbolicLink()).toBe(true);
});

// The walk of trees a container controls (export): through descriptors only (rootfs/confined-tree.ts).
test("the confined walk: the same view as the path walk: whiteouts, opaque directories, lower directories merged", () => {
  const lower = layer("c1", { "a/x": "1", "a/y": "1", "gone/f": "1", "opq/old": "1", "xopq/old": "1", kept: "1" });
  const upper = layer("c2", { "a/x": "2", ".wh.gone": "", "opq/.wh..wh..opq": "", "opq/new": "2", "xopq/new": "2", d: "2" });
  lsetxattr(join(upper, "xopq"), "user.overlay.opaque", new TextEncoder().encode("y"));
  const confined = [...confinedTree([upper, lower])].map((e) => `${e.rel}:${e.st.size}`);
  const byPath = [...mergedTree([upper, lower])].map((e) => `${e.rel}:${e.st.size}`);
  expect(confined).toEqual(byPath);
  expect(confined.map((e) => e.split(":")[0])).toEqual(["a", "a/x", "a/y", "d", "kept", "opq", "opq/new", "xopq", "xopq/new"]);
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

test("mergedDirAt: the layer directories of a path, through whiteouts and opaque directories, never through a symlink", () => {
  const lower = layer("d1", { "v/a/x": "1", "v/b/y": "1", "w/z": "1", "gone/q": "1" });
  const upper = layer("d2", { "v/a/x2": "2", "v/b/.wh..wh..opq": "", ".wh.gone": "", file: "2" });
  symlinkSync("/etc", join(upper, "link"));
  symlinkSync("v", join(upper, "vlink"));
  const rel = (dirs: string[] | undefined) => dirs?.map((d) => d.slice(work.length + 1));
  expect(rel(mergedDirAt([upper, lower], "/v/a"))).toEqual(["d2/v/a", "d1/v/a"]);
  expect(rel(mergedDirAt([upper, lower], "v/b/"))).toEqual(["d2/v/b"]);
  expect(rel(mergedDirAt([upper, lower], "/w"))).toEqual(["d1/w"]);
  expect(rel(mergedDirAt([upper, lower], "/"))).toEqual(["d2", "d1"]);
  // Below an opaque directory (the .wh..wh..opq file of fuse-overlayfs), the lower layer's is hidden.
  mkdirSync(join(lower, "v/b/deeper"));
  mkdirSync(join(upper, "v/b/deeper"));
  expect(rel(mergedDirAt([upper, lower], "/v/b/deeper"))).toEqual(["d2/v/b/deeper"]);
  for (const missing of ["/gone", "/nothing", "/file", "/link", "/vlink/a", "/v/../w"]) expect(mergedDirAt([upper, lower], missing)).toBeUndefined();
});
