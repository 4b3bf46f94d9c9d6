import { afterAll, beforeAll, expect, test } from "bun:test";
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSmallFile } from "../../cli/lib/sys/layer-files";

let work = "";
let dirfd = -1;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "rl-layer-files-"));
  mkdirSync(join(work, "sub"));
  dirfd = openSync(work, "r");
});
afterAll(() => {
  if (dirfd >= 0) closeSync(dirfd);
  rmSync(work, { recursive: true, force: true });
});

test("writes the bytes, mode and times of a new file in one call", () => {
  writeSmallFile(dirfd, "a.txt", new TextEncoder().encode("hello\n"), 0o640, -1, -1, 1_700_000_000.25);
  const st = lstatSync(join(work, "a.txt"));
  expect(readFileSync(join(work, "a.txt"), "utf8")).toBe("hello\n");
  expect(st.mode & 0o7777).toBe(0o640);
  expect(st.mtimeMs).toBe(1_700_000_000_250);
  expect(st.atimeMs).toBe(1_700_000_000_250);
});

test("an empty file, with its owner set to the caller's own ids", () => {
  writeSmallFile(dirfd, "empty", new Uint8Array(0), 0o600, process.getuid!(), process.getgid!(), 1_600_000_000);
  const st = lstatSync(join(work, "empty"));
  expect(st.size).toBe(0);
  expect([st.uid, st.gid]).toEqual([process.getuid!(), process.getgid!()]);
});

test("never replaces what exists, never follows a symlink, never leaves its directory", () => {
  writeFileSync(join(work, "taken"), "old");
  symlinkSync("/etc/passwd-rl-test-target", join(work, "link"));
  const err = (name: string) => {
    try {
      writeSmallFile(dirfd, name, new Uint8Array(1), 0o644, -1, -1, 0);
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
    throw new Error(`${name} was written`);
  };
  expect(err("taken")).toMatchObject({ code: "EEXIST", message: "open taken: File exists (EEXIST)" });
  expect(err("link").code).toBe("EEXIST");
  expect(err("../escape").code).toBe("EXDEV");
  expect(err("sub/../../escape").code).toBe("EXDEV");
  expect(readFileSync(join(work, "taken"), "utf8")).toBe("old");
});
