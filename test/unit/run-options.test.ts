import { describe, expect, test } from "bun:test";
import { keepIdMapping, noMapping, reownId, idLines, type IdMapping } from "../../cli/lib/security/idmap";
import { parseUserns } from "../../cli/lib/security/userns";
import { hardLimits, parseGroupAdd, parseSysctls, parseUlimits, parseUmask, resolveGroupAdd } from "../../cli/lib/runtime/process-options";
import { checkUserMapped } from "../../cli/lib/runtime/user";
import { encodeOps } from "../../cli/lib/sys/ops";

const base: IdMapping = { uid: 1001, gid: 1002, subuid: [{ start: 100000, count: 65536 }], subgid: [{ start: 200000, count: 65536 }] };

describe("--userns", () => {
  test.each([
    ["", { mode: "default" }],
    ["keep-id", { mode: "keep-id" }],
    ["keep-id:uid=200,gid=300", { mode: "keep-id", uid: 200, gid: 300 }],
    ["keep-id:gid=7", { mode: "keep-id", gid: 7 }],
    ["nomap", { mode: "nomap" }],
  ])("%p", (text, want) => expect(parseUserns(text)).toEqual(want as never));

  test.each(["auto", "auto:size=10", "ns:/proc/1/ns/user", "keep-id:uid=", "keep-id:uid=-1", "keep-id:size=3", "keep-id:uid=99999999999", "private", "bogus", "host"])("%p is refused", (text) => {
    expect(() => parseUserns(text)).toThrow(`invalid --userns ${JSON.stringify(text)}`);
  });

  test("keep-id: the user at its own id, the subordinate range around it (podman's layout)", () => {
    const m = keepIdMapping(base, 1001, 1002);
    expect(idLines(m, "uid")).toEqual([
      { inside: 0, outside: 100000, count: 1001 },
      { inside: 1001, outside: 1001, count: 1 },
      { inside: 1002, outside: 101001, count: 64535 },
    ]);
    expect(idLines(m, "gid")[1]).toEqual({ inside: 1002, outside: 1002, count: 1 });
  });

  test("keep-id:uid=N beyond the subordinate range leaves a gap; without subordinate ids only the user", () => {
    const small = { ...base, subuid: [{ start: 100000, count: 10 }] };
    expect(idLines(keepIdMapping(small, 50, 0), "uid")).toEqual([{ inside: 0, outside: 100000, count: 10 }, { inside: 50, outside: 1001, count: 1 }]);
    expect(idLines(keepIdMapping({ uid: 1001, gid: 1001 }, 1001, 1001), "uid")).toEqual([{ inside: 1001, outside: 1001, count: 1 }]);
  });

  test("keep-id and nomap over several subordinate ranges (as in a nested namespace): each range in order, the user's id at N", () => {
    const two = { ...base, subuid: [{ start: 100000, count: 999 }, { start: 101000, count: 100 }] };
    expect(idLines(keepIdMapping(two, 1001, 1002), "uid")).toEqual([
      { inside: 0, outside: 100000, count: 999 },
      { inside: 999, outside: 101000, count: 2 },
      { inside: 1001, outside: 1001, count: 1 },
      { inside: 1002, outside: 101002, count: 98 },
    ]);
    expect(idLines(noMapping(two), "uid")).toEqual([{ inside: 0, outside: 100000, count: 999 }, { inside: 999, outside: 101000, count: 100 }]);
  });

  test("ids outside a keep-id map are refused with the map's ranges", () => {
    const m = keepIdMapping({ ...base, subuid: [{ start: 100000, count: 10 }] }, 50, 0);
    expect(() => checkUserMapped({ uid: 50, gid: 0, additionalGids: [] }, m)).not.toThrow();
    expect(() => checkUserMapped({ uid: 20, gid: 0, additionalGids: [] }, m)).toThrow("cannot run as uid 20: the container's uids are 0-9, 50 (as --userns maps them)");
    expect(() => checkUserMapped({ uid: 0, gid: 0, additionalGids: [] }, keepIdMapping({ uid: 1001, gid: 1001 }, 1001, 1001))).toThrow("so the container has only uid 1001");
  });

  test("reownId gives each file the id that shows its stored owner in the keep-id container", () => {
    const stored = idLines(base, "uid"), container = keepIdMapping(base, 1001, 1002).lines!.uid;
    // Stored root (the user) must become subordinate 100000, which the store's namespace calls 1.
    expect(reownId(stored, container, 0)).toBe(1);
    expect(reownId(stored, container, 1000)).toBe(1001);
    // The container's 1001 is the user: the store's root.
    expect(reownId(stored, container, 1001)).toBe(0);
    expect(reownId(stored, container, 1002)).toBe(1002);
    expect(reownId(stored, container, 65536)).toBe(65536);
    // Unmapped in the store's namespace (its overflow id): the user.
    expect(reownId([{ inside: 0, outside: 1001, count: 1 }], [{ inside: 1001, outside: 1001, count: 1 }], 65534)).toBe(0);
  });
});

describe("--ulimit", () => {
  const hard = new Map([["Max open files", 4096], ["Max core file size", -1]]);
  test("NAME=SOFT[:HARD], -1 and unlimited; the last one given wins", () => {
    expect(parseUlimits(["nofile=100:200", "core=unlimited", "nofile=300"], hard)).toEqual([
      { type: "RLIMIT_NOFILE", soft: 300, hard: 300 },
      { type: "RLIMIT_CORE", soft: -1, hard: -1 },
    ]);
    expect(parseUlimits(["host"], hard)).toEqual([]);
  });
  test.each([
    ["nofile", "expected NAME=SOFT[:HARD]"],
    ["nofile=a", "limits are numbers, -1 or unlimited"],
    ["nofile=10:5", "the soft limit is above the hard one"],
    ["nofile=-1:100", "the soft limit is above the hard one"],
    ["nofile=10:5000", "rl's own hard limit for nofile is 4096"],
    ["nofile=unlimited", "rl's own hard limit for nofile is 4096"],
    ["pids=1", "unknown name pids"],
  ])("%p is refused", (e, msg) => expect(() => parseUlimits([e], hard)).toThrow(msg));
  test("rl's hard limits come from /proc/self/limits", () => {
    const text = "Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \nMax core file size        0                    unlimited            bytes     \n";
    expect(hardLimits(text)).toEqual(new Map([["Max open files", 524288], ["Max core file size", -1]]));
  });
});

test("--umask is octal, 0022 without it", () => {
  expect(parseUmask(undefined)).toBe(0o022);
  expect(parseUmask("077")).toBe(0o77);
  expect(parseUmask("0027")).toBe(0o27);
  for (const bad of ["8", "0x1", "", "00777", "-1"]) expect(() => parseUmask(bad)).toThrow("invalid --umask");
});

test("--group-add: gids and the image's names; keep-groups alone", () => {
  expect(resolveGroupAdd(parseGroupAdd(["wheel", "1234"]).groups, "root:x:0:\nwheel:x:10:root\n")).toEqual([10, 1234]);
  expect(parseGroupAdd(["keep-groups"])).toEqual({ keepGroups: true, groups: [] });
  expect(() => parseGroupAdd(["keep-groups", "1"])).toThrow("keep-groups cannot be combined");
  expect(() => resolveGroupAdd(["nope"], "wheel:x:10:\n")).toThrow("unable to find group nope");
});

describe("--sysctl", () => {
  test("namespaced keys, / as a separator too", () => {
    expect(parseSysctls(["net.ipv4.ip_forward=1", "kernel.shmmax=10", "fs.mqueue.msg_max=20", "net/core/somaxconn=4096", "kernel.sem=1 2 3 4"], false)).toEqual({
      "net.ipv4.ip_forward": "1", "kernel.shmmax": "10", "fs.mqueue.msg_max": "20", "net.core.somaxconn": "4096", "kernel.sem": "1 2 3 4",
    });
  });
  test.each([
    [["kernel.pid_max=1"], false, "kernel.pid_max is not namespaced"],
    [["vm.swappiness=1"], false, "vm.swappiness is not namespaced"],
    [["net.ipv4.ip_forward=1"], true, "would change the host's network"],
    [["net..x=1"], false, "expected KEY=VALUE"],
    [["=1"], false, "expected KEY=VALUE"],
    [["net.ipv4.ip_forward"], false, "expected KEY=VALUE"],
  ])("%p refused", (e, host, msg) => expect(() => parseSysctls(e as string[], host as boolean)).toThrow(msg as string));
});

test("the new ops encode as the executor reads them", () => {
  const ops = encodeOps([{ op: "rlimit", resource: 7, name: "RLIMIT_NOFILE", soft: -1, hard: 200 }, { op: "user", uid: 1, gid: 2, groups: [3], keepGroups: true }]);
  const arg = (s: string) => `${String.fromCharCode(s.length)}\x00\x00\x00${s}\x00`;
  expect(new TextDecoder().decode(ops)).toBe(["\x1c\x03\x00", arg("7"), arg("-1"), arg("200"), "\x13\x03\x00", arg("1"), arg("2"), arg("-1")].join(""));
});
