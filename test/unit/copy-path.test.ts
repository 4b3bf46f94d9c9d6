import { describe, expect, test } from "bun:test";
import { linkTarget, parseCopyPath, placeCopy } from "../../cli/lib/rootfs/copy-path";
import { parseCopyArg } from "../../cli/lib/runtime/container-copy";

describe("cp arguments, as docker splits them", () => {
  test.each([
    ["-", { stream: true }],
    ["web:/etc/hosts", { container: "web", path: "/etc/hosts" }],
    ["web:etc", { container: "web", path: "etc" }],
    ["web:", { container: "web", path: "" }],
    ["/tmp/a:b", { host: "/tmp/a:b" }],
    ["./a:b", { host: "./a:b" }],
    ["notes.txt", { host: "notes.txt" }],
  ])("%s", (arg, want) => expect(parseCopyArg(arg)).toEqual(want as never));
});

describe("cp paths: the entry, and what a trailing / or /. asks", () => {
  test.each([
    ["/etc/hosts", { dir: "/etc", base: "hosts", contents: false, dirOnly: false }],
    ["/etc/", { dir: "/", base: "etc", contents: false, dirOnly: true }],
    ["/etc/.", { dir: "/", base: "etc", contents: true, dirOnly: true }],
    ["/etc//./x", { dir: "/etc", base: "x", contents: false, dirOnly: false }],
    ["/", { dir: "/", base: "", contents: false, dirOnly: true }],
    ["/.", { dir: "/", base: "", contents: true, dirOnly: true }],
    ["/a/..", { dir: "/a/..", base: "", contents: false, dirOnly: true }],
  ])("%s", (path, want) => expect(parseCopyPath(path)).toEqual(want));

  test("a symlink's target: absolute as it is, relative from the link's directory", () => {
    expect(linkTarget(parseCopyPath("/etc/passwd"), "/home/u/.ssh/id_rsa")).toMatchObject({ dir: "/home/u/.ssh", base: "id_rsa" });
    expect(linkTarget(parseCopyPath("/etc/passwd"), "../../x")).toMatchObject({ dir: "/etc/../..", base: "x" });
  });
});

describe("where docker's rules put a copy", () => {
  const file = { isDir: false, contents: false, name: "a" };
  const dir = { isDir: true, contents: false, name: "d" };
  const contents = { isDir: true, contents: true, name: "d" };
  test.each([
    ["a file into an existing directory, under its own name", file, { state: "dir", dirOnly: false, name: "x" }, { into: "dest", name: "a" }],
    ["a file over an existing file", file, { state: "other", dirOnly: false, name: "x" }, { into: "parent", name: "x" }],
    ["a file to a new name", file, { state: "none", dirOnly: false, name: "x" }, { into: "parent", name: "x" }],
    ["a file to a new name ending in /", file, { state: "none", dirOnly: true, name: "x" }, { refused: "no-dir" }],
    ["a directory into an existing directory", dir, { state: "dir", dirOnly: false, name: "x" }, { into: "dest", name: "d" }],
    ["a directory's contents into an existing directory", contents, { state: "dir", dirOnly: false, name: "x" }, { into: "dest", name: "" }],
    ["a directory to a new name (created, with its contents)", dir, { state: "none", dirOnly: true, name: "x" }, { into: "parent", name: "x" }],
    ["a directory over a file", dir, { state: "other", dirOnly: false, name: "x" }, { refused: "dir-onto-file" }],
  ] as const)("%s", (_, src, dest, want) => expect(placeCopy(src, dest)).toEqual(want as never));
});
