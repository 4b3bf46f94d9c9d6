import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { parseOptions, type Parsed } from "../../cli/parse-options";
import { OPTIONS } from "../../cli/commands/exec";
import { processOps } from "../../cli/lib/runtime/plan";
import type { Spec } from "../../cli/lib/runtime/spec";
import { checkUserInMaps } from "../../cli/lib/runtime/user";
import { readConfinedFile } from "../../cli/lib/rootfs/confined-file";
import { closeFd, O, openat2, AT_FDCWD } from "../../cli/lib/sys/libc";

const proc = (terminal: boolean): Spec["process"] => ({
  terminal,
  user: { uid: 0, gid: 0, additionalGids: [0], umask: 0o022 },
  args: ["sh"],
  env: ["PATH=/bin"],
  cwd: "/",
  capabilities: { bounding: ["CAP_CHOWN"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"], inheritable: [], ambient: [] },
  noNewPrivileges: false,
});
const tail = (ops: { op: string }[]) => ops.slice(ops.findIndex((o) => o.op === "user") + 1).map((o) => o.op);

describe("processOps: what happens to rl's stdio around the fork", () => {
  test("run: stdin from /dev/null without -i, rl's fds otherwise", () => {
    expect(tail(processOps(proc(false), { interactive: false, keepGroups: false }))).toEqual(["stdinNull", "exec"]);
    expect(tail(processOps(proc(false), { interactive: true, keepGroups: false }))).toEqual(["exec"]);
  });
  test("exec: the process outside the container's pid namespace forks the command", () => {
    expect(tail(processOps(proc(false), { interactive: false, fork: "init", keepGroups: false }))).toEqual(["stdinNull", "init", "exec"]);
  });
  test("a terminal of its own: rl's fds 0-2 (the user's terminal, maybe) go before the fork, the console comes after", () => {
    expect(tail(processOps(proc(true), { interactive: true, fork: "init", keepGroups: false }))).toEqual(["nullStdio", "init", "console", "exec"]);
  });
  test("exec -d: nothing of rl's stdio reaches the detached command", () => {
    expect(tail(processOps(proc(false), { interactive: true, fork: "detach", keepGroups: false }))).toEqual(["nullStdio", "detach", "exec"]);
  });
  test("the seccomp filter comes before the capabilities go, the user switch after", () => {
    const ops = processOps(proc(false), { interactive: false, seccomp: new Uint8Array(8), keepGroups: false }).map((o) => o.op);
    expect(ops.indexOf("seccomp")).toBeLessThan(ops.indexOf("dropCaps"));
    expect(ops.indexOf("dropCaps")).toBeLessThan(ops.indexOf("user"));
  });
});

describe("exec's options: they end at the container's name", () => {
  test.each([
    [["-it", "web", "sh", "-c", "x"], { interactive: true, tty: true }, ["web", "sh", "-c", "x"]],
    [["-u", "nobody", "-w", "/tmp", "-e", "A=1", "-d", "web", "ls", "-la"], { user: "nobody", workdir: "/tmp", env: ["A=1"], detach: true }, ["web", "ls", "-la"]],
    [["--privileged", "web", "id", "-u", "x"], { privileged: true }, ["web", "id", "-u", "x"]],
  ])("%p", (args, values, rest) => {
    const parsed = parseOptions(args, OPTIONS) as Parsed;
    expect(parsed.values).toMatchObject(values);
    expect(parsed.rest).toEqual(rest);
  });
});

describe("checkUserInMaps: ids a running container does not have", () => {
  const full = { uid: [{ containerID: 0, hostID: 1001, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }] };
  test("mapped ids pass; an unmapped uid or gid is refused, saying which ids there are", () => {
    expect(() => checkUserInMaps({ uid: 1000, gid: 1000, additionalGids: [10] }, full.uid, full.uid)).not.toThrow();
    expect(() => checkUserInMaps({ uid: 70000, gid: 0, additionalGids: [] }, full.uid, full.uid)).toThrow("cannot run as uid 70000: the container's uids are 0-65536");
    expect(() => checkUserInMaps({ uid: 0, gid: 0, additionalGids: [99999] }, full.uid, full.uid)).toThrow("cannot run as gid 99999: the container's gids are 0-65536");
  });
  test("with a single gid, supplementary groups are dropped by the kernel, not refused", () => {
    const one = [{ containerID: 0, hostID: 1001, size: 1 }];
    expect(() => checkUserInMaps({ uid: 0, gid: 0, additionalGids: [1, 2] }, one, one)).not.toThrow();
    expect(() => checkUserInMaps({ uid: 5, gid: 0, additionalGids: [] }, one, one)).toThrow("cannot run as uid 5: the container's uids are 0");
  });
});

describe("readConfinedFile: a file of a container's tree as the container sees it", () => {
  const dir = mkdtempSync(join(tmpdir(), "rl-confined-"));
  const root = join(dir, "root");
  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(dir, "host-secret"), "host\n");
  writeFileSync(join(root, "etc", "inside"), "inside\n");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const read = (rel: string) => {
    const fd = openat2(AT_FDCWD, root, O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0);
    try {
      return readConfinedFile(fd, rel);
    } finally {
      closeFd(fd);
    }
  };

  test("an absolute symlink resolves inside the root: the host's file of that path is never read", () => {
    symlinkSync(join(dir, "host-secret"), join(root, "etc", "abs"));
    expect(read("etc/abs")).toBeUndefined();
    symlinkSync("/etc/inside", join(root, "etc", "abs-inside"));
    expect(read("etc/abs-inside")).toBe("inside\n");
  });
  test("a relative symlink cannot climb out either", () => {
    symlinkSync("../../host-secret", join(root, "etc", "rel"));
    expect(read("etc/rel")).toBeUndefined();
  });
  test("a fifo is not opened (nothing hangs); a directory or a missing file is nothing", () => {
    execFileSync("mkfifo", [join(root, "etc", "fifo")]);
    expect(read("etc/fifo")).toBeUndefined();
    expect(read("etc")).toBeUndefined();
    expect(read("etc/missing")).toBeUndefined();
  });
  test("a file larger than 1 MiB is refused", () => {
    writeFileSync(join(root, "etc", "big"), new Uint8Array((1 << 20) + 1));
    expect(() => read("etc/big")).toThrow("the container's /etc/big is larger than 1 MiB");
  });
});
