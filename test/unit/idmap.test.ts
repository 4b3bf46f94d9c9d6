import { describe, expect, test } from "bun:test";
import { clipRanges, existingIds, helpersRefusedHere, mappedSize, mapTriples, planMapping, singleWarning, userName, type IdRange } from "../../cli/lib/security/idmap";

const r = (start: number, count: number): IdRange => ({ start, count });
const HOST = "         0          0 4294967295\n";
// Rootless podman's default: the user at 0, its 65536 subordinate ids at 1.
const PODMAN = "         0       1001          1\n         1     100000      65536\n";

describe("existingIds", () => {
  test.each([
    ["the initial namespace", HOST, [r(0, 4294967295)]],
    ["rootless podman: adjacent lines are one run", PODMAN, [r(0, 65537)]],
    ["unsorted, with blank lines", "5 200 10\n\n0 100 2\n", [r(0, 2), r(5, 10)]],
    ["single id", "0 1000 1\n", [r(0, 1)]],
    ["empty (no map written yet)", "", []],
  ] as [string, string, IdRange[]][])("%s", (_, text, want) => {
    expect(existingIds(text)).toEqual(want);
  });
});

describe("clipRanges", () => {
  test.each([
    ["all exists on a host", [r(100000, 65536)], existingIds(HOST), 1000, [r(100000, 65536)]],
    ["nothing of 100000+ exists in podman's 0-65536", [r(100000, 65536)], existingIds(PODMAN), 1000, []],
    ["the part that exists", [r(60000, 10000)], existingIds(PODMAN), 1000, [r(60000, 5537)]],
    ["podman's image style 1:999 and 1001:64535 for user 1000", [r(1001, 64535), r(1, 999)], existingIds(PODMAN), 1000, [r(1001, 64535), r(1, 999)]],
    ["the user's own id cut out", [r(1, 65536)], existingIds(PODMAN), 1000, [r(1, 999), r(1001, 64536)]],
    ["own id at the range's edges", [r(1000, 3)], existingIds(HOST), 1000, [r(1001, 2)]],
    ["a range over a hole between two existing ranges", [r(0, 100)], [r(10, 5), r(50, 10)], 1000, [r(10, 5), r(50, 10)]],
    ["no ranges", [], existingIds(HOST), 1000, []],
  ] as [string, IdRange[], IdRange[], number, IdRange[]][])("%s", (_, ranges, existing, own, want) => {
    expect(clipRanges(ranges, existing, own)).toEqual(want);
  });

  test("at most 339 pieces: the kernel takes 340 lines per map", () => {
    const holes = Array.from({ length: 500 }, (_, i) => r(i * 2, 1));
    expect(clipRanges([r(0, 1000)], holes, 5000)).toHaveLength(339);
  });
});

describe("planMapping", () => {
  const base = { uid: 1000, gid: 1000, uidMap: HOST, gidMap: HOST };
  test("host: the ranges as listed", () => {
    const m = planMapping({ ...base, subuid: [r(100000, 65536)], subgid: [r(100000, 65536)] });
    expect(m).toEqual({ uid: 1000, gid: 1000, subuid: [r(100000, 65536)], subgid: [r(100000, 65536)] });
    expect(mapTriples(m.uid, m.subuid!)).toEqual([[0, 1000, 1], [1, 100000, 65536]]);
    expect(mappedSize(m)).toEqual({ uids: 65537, gids: 65537 });
  });
  test("several ranges follow each other in container ids", () => {
    const m = planMapping({ ...base, uidMap: PODMAN, gidMap: PODMAN, subuid: [r(1001, 64535), r(1, 999)], subgid: [r(1001, 64535), r(1, 999)] });
    expect(mapTriples(m.uid, m.subuid!)).toEqual([[0, 1000, 1], [1, 1001, 64535], [64536, 1, 999]]);
    expect(mappedSize(m)).toEqual({ uids: 65535, gids: 65535 });
  });
  test("no ranges: the user alone, with the reason", () => {
    const m = planMapping({ ...base, subuid: [], subgid: [] });
    expect(m.subuid).toBeUndefined();
    expect(singleWarning(m)).toStartWith("no subordinate ids for this user in /etc/subuid and /etc/subgid: only the user's own id is mapped");
    expect(mappedSize(m)).toEqual({ uids: 1, gids: 1 });
  });
  test("nested, nothing of the range exists: the user alone, naming what is listed and what exists", () => {
    const m = planMapping({ ...base, uidMap: PODMAN, gidMap: PODMAN, subuid: [r(100000, 65536)], subgid: [r(100000, 65536)] });
    expect(m.subuid).toBeUndefined();
    expect(singleWarning(m)).toBe(
      "no subordinate ids for this user exist in the user namespace rl runs in (a container?): /etc/subuid lists 100000-165535, only 0-65536 exist here: " +
        "only the user's own id is mapped (as root); files owned by other ids are given to root",
    );
  });
  test("gids missing alone is enough to map the user alone", () => {
    const m = planMapping({ ...base, gidMap: PODMAN, subuid: [r(100000, 65536)], subgid: [r(100000, 65536)] });
    expect(m.subuid).toBeUndefined();
    expect(m.single).toContain("/etc/subgid lists 100000-165535");
  });
});

describe("helpersRefusedHere", () => {
  // /proc/self/status lines: podman's default bounding set (no CAP_SYS_ADMIN), the same with it.
  const podman = "NoNewPrivs:\t0\nCapBnd:\t00000000800405fb\n";
  const sysAdmin = "NoNewPrivs:\t0\nCapBnd:\t00000000802405fb\n";
  const setuid = [{ usable: true, setuid: true }, { usable: true, setuid: true }];
  const fileCaps = [{ usable: true, setuid: false }, { usable: true, setuid: false }];
  test.each([
    ["host: setuid helpers have every capability", podman, true, setuid, undefined],
    ["container, setuid helpers, no CAP_SYS_ADMIN", podman, false, setuid, "no CAP_SYS_ADMIN"],
    ["container, setuid helpers, CAP_SYS_ADMIN in the bounding set", sysAdmin, false, setuid, undefined],
    ["container, helpers with file capabilities", podman, false, fileCaps, undefined],
    ["no_new_privs, even on a host", "NoNewPrivs:\t1\nCapBnd:\t000001ffffffffff\n", true, setuid, "no_new_privs"],
  ] as [string, string, boolean, typeof setuid, string | undefined][])("%s", (_, status, initial, helpers, want) => {
    const got = helpersRefusedHere(status, initial, helpers);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(want);
  });

  test("a refusal maps the user alone, saying why", () => {
    const m = planMapping({ uid: 1000, gid: 1000, uidMap: PODMAN, gidMap: PODMAN, subuid: [r(1, 999)], subgid: [r(1, 999)], helpersRefused: "newuidmap cannot" });
    expect(m.subuid).toBeUndefined();
    expect(singleWarning(m)).toStartWith("newuidmap cannot: only the user's own id is mapped");
  });
});

describe("userName", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\ntester:x:1000:1000::/home/tester:/bin/bash\n";
  test("from /etc/passwd, whatever $USER says", () => {
    expect(userName(1000, (p) => (p === "/etc/passwd" ? passwd : null))).toBe("tester");
  });
  test("a uid in no file: the system's answer, else the number", () => {
    expect(userName(4242, () => null)).toMatch(/^(\S+)$/);
    expect(userName(4242, () => null)).not.toBe("unknown");
  });
});
