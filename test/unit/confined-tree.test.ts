import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { confinedTree } from "../../cli/lib/rootfs/confined-tree";
import { mergedTree } from "../../cli/lib/rootfs/merged-tree";
import { lsetxattr } from "../../cli/lib/sys/libc";

let work = "";
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-confined-"));
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

test("the same view as the path walk: whiteouts, opaque directories, lower directories merged", () => {
  const lower = layer("l1", { "a/x": "1", "a/y": "1", "gone/f": "1", "opq/old": "1", "xopq/old": "1", kept: "1" });
  const upper = layer("l2", { "a/x": "2", ".wh.gone": "", "opq/.wh..wh..opq": "", "opq/new": "2", "xopq/new": "2", d: "2" });
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
