import { describe, expect, test } from "bun:test";
import { HOSTNAME_HINT, MASKED_PROC_HINT, outerRefusal, procOvermounts, seccompFiltered } from "../../cli/lib/runtime/outer-container";
import type { Op } from "../../cli/lib/sys/ops";

// /proc/self/mountinfo lines as rootless podman leaves them in its containers (masked and read-only paths).
const PODMAN_PROC = [
  "368 367 0:56 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
  "264 368 0:56 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw",
  "267 368 0:56 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw",
  "275 368 0:61 / /proc/acpi ro,relatime - tmpfs tmpfs ro,uid=1001,gid=1001",
  "276 368 0:6 /null /proc/keys rw,relatime - devtmpfs devtmpfs rw,size=12335116k,mode=755",
].join("\n");
const HOST_PROC = [
  "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw",
  "40 22 0:35 / /proc/sys/fs/binfmt_misc rw,relatime shared:13 - autofs systemd-1 rw",
].join("\n");
const FILTERED = "Name:\tbun\nSeccomp:\t2\nSeccomp_filters:\t1\n";
const UNFILTERED = "Name:\tbun\nSeccomp:\t0\nSeccomp_filters:\t0\n";

const proc: Op = { op: "mountIn", src: "proc", target: "/proc", fstype: "proc", flags: 0, data: "" };
const hostname: Op = { op: "hostname", name: "abc" };

describe("procOvermounts", () => {
  test("podman's masks and read-only paths", () => expect(procOvermounts(PODMAN_PROC)).toEqual(["/proc/bus", "/proc/sys", "/proc/acpi", "/proc/keys"]));
  test("a host's binfmt_misc (an empty directory) does not count", () => expect(procOvermounts(HOST_PROC)).toEqual([]));
});

test("seccompFiltered", () => {
  expect(seccompFiltered(FILTERED)).toBe(true);
  expect(seccompFiltered(UNFILTERED)).toBe(false);
});

describe("outerRefusal", () => {
  test.each([
    ["proc refused under podman's masks", proc, 1, PODMAN_PROC, UNFILTERED, `: ${MASKED_PROC_HINT}`],
    ["proc refused on a host: no hint", proc, 1, HOST_PROC, UNFILTERED, ""],
    ["proc failing otherwise: no hint", proc, 16, PODMAN_PROC, UNFILTERED, ""],
    ["sethostname refused under a seccomp filter", hostname, 1, HOST_PROC, FILTERED, `: ${HOSTNAME_HINT}`],
    ["sethostname refused without one: no hint", hostname, 1, HOST_PROC, UNFILTERED, ""],
  ] as [string, Op, number, string, string, string][])("%s", (_, op, errno, mountinfo, status, want) => {
    expect(outerRefusal(op, errno, { mountinfo, status })).toBe(want);
  });
});
