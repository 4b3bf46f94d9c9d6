import { describe, expect, test } from "bun:test";
import { decideEntry, planEntryPath, type EntryKind, type Existing, type NameClass } from "../../core-as/index";

describe("planEntryPath (WASM core)", () => {
  test.each([
    ["a/b", "a/b", "a", "b", "plain"],
    ["./a/b", "a/b", "a", "b", "plain"],
    ["a//b/", "a/b", "a", "b", "plain"],
    ["./", "", "", "", "root"],
    [".", "", "", "", "root"],
    ["a/../b", "b", "", "b", "plain"],
    ["a/b/../../c/./d", "c/d", "c", "d", "plain"],
    ["a/..", "", "", "", "root"],
    ["etc/.wh.passwd", "etc/.wh.passwd", "etc", ".wh.passwd", "whiteout"],
    [".wh.top", ".wh.top", "", ".wh.top", "whiteout"],
    ["d/.wh..wh..opq", "d/.wh..wh..opq", "d", ".wh..wh..opq", "opaque"],
    ["d/.wh..wh.plnk", "d/.wh..wh.plnk", "d", ".wh..wh.plnk", "aufs-meta"],
    ["dir/x.wh.y", "dir/x.wh.y", "dir", "x.wh.y", "plain"],
    ["ünïcødé/名前", "ünïcødé/名前", "ünïcødé", "名前", "plain"],
    // kaniko and other builders: a leading "/" is the layer's root, "/" itself is the root
    ["/", "", "", "", "root"],
    ["//", "", "", "", "root"],
    ["/.", "", "", "", "root"],
    ["/etc/x", "etc/x", "etc", "x", "plain"],
    ["//x", "x", "", "x", "plain"],
    ["./etc/x", "etc/x", "etc", "x", "plain"],
    [".//etc//x", "etc/x", "etc", "x", "plain"],
    ["/./etc/../etc/x/", "etc/x", "etc", "x", "plain"],
    ["/.wh.x", ".wh.x", "", ".wh.x", "whiteout"],
    ["./dir/.wh..wh..opq", "dir/.wh..wh..opq", "dir", ".wh..wh..opq", "opaque"],
    ["//dir//.wh.y", "dir/.wh.y", "dir", ".wh.y", "whiteout"],
  ])("%j → %j", (name, path, parent, base, cls) => {
    expect(planEntryPath(name)).toMatchObject({ path, parent, name: base, cls });
  });

  test("a whiteout names what it hides", () => {
    expect(planEntryPath("./etc/.wh.shadow")).toMatchObject({ cls: "whiteout", hides: "shadow", parent: "etc" });
  });

  test.each([
    ["..", "escape"],
    ["/..", "escape"],
    ["/../etc/passwd", "escape"],
    ["//..//x", "escape"],
    ["./etc/../../x", "escape"],
    ["../x", "escape"],
    ["./../x", "escape"],
    ["a/../../x", "escape"],
    ["a/b/../../../etc", "escape"],
    ["a\0b", "nul"],
    ["", "empty"],
    ["d/.wh.", "bad-whiteout"],
    ["d/.wh..", "bad-whiteout"],
    ["d/.wh...", "bad-whiteout"],
    ["x".repeat(4097), "too-long"],
  ])("%j is refused: %s", (name, reason) => {
    expect(planEntryPath(name)).toEqual({ reject: reason } as never);
  });
});

describe("decideEntry (WASM core)", () => {
  const plainFile = { cls: "plain" as NameClass, existing: "other" as Existing };
  test.each<[EntryKind, NameClass, Existing, string | { reject: string }]>([
    ["file", "plain", "none", "create"],
    ["dir", "plain", "none", "create"],
    ["symlink", "plain", "none", "create"],
    ["fifo", "plain", "none", "create"],
    ["file", "plain", "whiteout", "replace"],
    ["dir", "plain", "whiteout", "replace"],
    ["dir", "plain", "dir", "update-dir"],
    // An entry repeated in the layer replaces the earlier one (two directories merge).
    ["file", "plain", "dir", "replace-dir"],
    ["symlink", "plain", "dir", "replace-dir"],
    ["hardlink", "plain", "dir", "replace-dir"],
    ["fifo", "plain", "dir", "replace-dir"],
    ["file", "plain", "other", "replace"],
    ["symlink", "plain", "other", "replace"],
    ["dir", "plain", "other", "replace"],
    ["char", "plain", "none", "skip-device"],
    ["block", "plain", "none", "skip-device"],
    ["other", "plain", "none", "skip"],
    ["file", "whiteout", "none", "whiteout"],
    ["file", "whiteout", "whiteout", "skip"],
    ["file", "whiteout", "other", { reject: "whiteout-same-layer" }],
    ["file", "whiteout", "dir", { reject: "whiteout-same-layer" }],
    ["file", "opaque", "none", "opaque"],
    ["file", "aufs-meta", "none", "skip"],
    ["dir", "root", "dir", "root"],
    ["file", "root", "dir", { reject: "root-not-dir" }],
  ])("%s named %s over %s → %j", (kind, cls, existing, want) => {
    expect(decideEntry(kind, cls, existing, plainFile)).toEqual(want as never);
  });

  test("a hardlink needs a plain file earlier in the layer as its target", () => {
    expect(decideEntry("hardlink", "plain", "none", { cls: "plain", existing: "other" })).toBe("create");
    expect(decideEntry("hardlink", "plain", "none", { cls: "plain", existing: "none" })).toEqual({ reject: "link-target" });
    expect(decideEntry("hardlink", "plain", "none", { cls: "plain", existing: "dir" })).toEqual({ reject: "link-target" });
    expect(decideEntry("hardlink", "plain", "none", { cls: "plain", existing: "whiteout" })).toEqual({ reject: "link-target" });
    expect(decideEntry("hardlink", "plain", "none", { cls: "whiteout", existing: "other" })).toEqual({ reject: "link-target" });
    expect(decideEntry("hardlink", "plain", "none", { cls: "root", existing: "dir" })).toEqual({ reject: "link-target" });
  });
});
