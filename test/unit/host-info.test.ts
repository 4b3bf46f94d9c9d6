import { describe, expect, test } from "bun:test";
import {
  CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC, cgroupInfo, cgroupVersion, delegatedRootOf, parseProcCgroup, TMPFS_MAGIC,
  type CgroupHost,
} from "../../cli/lib/host/cgroups";
import { devFuseCheck } from "../../cli/lib/host/fuse-overlayfs";
import { idMappingReason } from "../../cli/lib/host/id-mapping";
import { defaultDriver, type HostInfo } from "../../cli/lib/host/info";
import { kernelAtLeast } from "../../cli/lib/host/kernel-version";
import { overlayInfo } from "../../cli/lib/host/overlay";
import type { OverlayProbe } from "../../cli/lib/host/overlay-probe";
import { osPrettyName } from "../../cli/lib/host/system";
import { formatHostInfo } from "../../cli/lib/host/table";
import { readUsernsSysctls, userNamespaceInfo, type UsernsSysctls } from "../../cli/lib/host/user-namespaces";

describe("parseProcCgroup", () => {
  test.each([
    ["unified only", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope\n", "/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope", 0],
    ["hybrid", "9:name=systemd:/\n4:memory:/process_api/6ea7\n1:cpu,cpuacct:/\n0::/\n", "/", 3],
    ["v1 only", "2:pids:/user.slice\n1:name=systemd:/user.slice/session-2.scope\n", null, 2],
    ["path with a colon", "0::/a:b\n", "/a:b", 0],
    ["empty", "", null, 0],
  ] as const)("%s", (_name, text, unified, v1Count) => {
    const r = parseProcCgroup(text);
    expect(r.unified).toBe(unified);
    expect(r.v1.length).toBe(v1Count);
  });

  test("v1 entries keep their controllers", () => {
    const r = parseProcCgroup("4:memory:/process_api/6ea7\n1:cpu,cpuacct:/\n");
    expect(r.v1).toEqual([
      { hierarchy: 4, controllers: ["memory"], path: "/process_api/6ea7" },
      { hierarchy: 1, controllers: ["cpu", "cpuacct"], path: "/" },
    ]);
  });
});

describe("cgroupVersion", () => {
  test.each([
    [CGROUP2_SUPER_MAGIC, null, "v2"],
    [CGROUP2_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, "v2"],
    [TMPFS_MAGIC, CGROUP2_SUPER_MAGIC, "hybrid"],
    [TMPFS_MAGIC, TMPFS_MAGIC, "v1"],
    [TMPFS_MAGIC, null, "v1"],
    [CGROUP_SUPER_MAGIC, null, "v1"],
    [null, null, "none"],
    [0xef53, null, "none"],
  ] as const)("root %p, unified %p: %s", (root, unified, want) => {
    expect(cgroupVersion(root, unified)).toBe(want);
  });
});

describe("delegatedRootOf", () => {
  test.each([
    ["/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope", 1000, "/user.slice/user-1000.slice/user@1000.service"],
    ["/user.slice/user-1000.slice/user@1000.service", 1000, "/user.slice/user-1000.slice/user@1000.service"],
    ["/user.slice/user-1000.slice/user@1000.service/x", 1001, null],
    ["/user.slice/user-1000.slice/session-3.scope", 1000, null],
    ["/", 1000, null],
  ] as const)("%s as %d", (path, uid, want) => {
    expect(delegatedRootOf(path, uid)).toBe(want);
  });
});

/** A host described by data: filesystem types, file contents, writable paths. */
function fakeHost(h: { fs: Record<string, number>; files: Record<string, string>; writable?: string[] }): CgroupHost {
  return {
    fsType: (p) => h.fs[p] ?? null,
    read: (p) => h.files[p] ?? null,
    writable: (p) => (h.writable ?? []).includes(p),
  };
}

const SVC = "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service";
const delegatedFiles = (own: string, controllers = "cpu io memory pids") => ({
  "/proc/self/cgroup": `0::${own}\n`,
  [`${SVC}/cgroup.controllers`]: `${controllers}\n`,
  [`${SVC}/cgroup.subtree_control`]: "memory pids\n",
});
const v2fs = { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC, [SVC]: CGROUP2_SUPER_MAGIC };
const svcWritable = [SVC, `${SVC}/cgroup.procs`, `${SVC}/cgroup.subtree_control`];

describe("cgroupInfo", () => {
  test("hybrid host: unavailable, says why and what rl needs", () => {
    const host = fakeHost({
      fs: { "/sys/fs/cgroup": TMPFS_MAGIC, "/sys/fs/cgroup/unified": CGROUP2_SUPER_MAGIC },
      files: { "/proc/self/cgroup": "4:memory:/x\n0::/\n", "/sys/fs/cgroup/unified/cgroup.controllers": "\n" },
    });
    const c = cgroupInfo(1000, host);
    expect(c).toMatchObject({ ok: false, version: "hybrid", ownPath: "/", delegatedPath: null, writable: false });
    expect(c.reason).toBe(
      "this host has hybrid cgroups (v1 controllers, empty v2); rl needs cgroup v2 with a subtree delegated to the user (boot with systemd.unified_cgroup_hierarchy=1)",
    );
  });

  test("hybrid host whose v2 has some controllers names them", () => {
    const host = fakeHost({
      fs: { "/sys/fs/cgroup": TMPFS_MAGIC, "/sys/fs/cgroup/unified": CGROUP2_SUPER_MAGIC },
      files: { "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/unified/cgroup.controllers": "hugetlb\n" },
    });
    expect(cgroupInfo(1000, host).reason).toContain("(v1 controllers, v2 with only hugetlb)");
  });

  test("v1 only and none", () => {
    expect(cgroupInfo(1000, fakeHost({ fs: { "/sys/fs/cgroup": TMPFS_MAGIC }, files: {} })).reason).toStartWith("this host has cgroup v1 only");
    expect(cgroupInfo(1000, fakeHost({ fs: {}, files: {} })).reason).toStartWith("no cgroup filesystem is mounted at /sys/fs/cgroup");
  });

  test("v2, inside the systemd user manager's delegated subtree", () => {
    const own = "/user.slice/user-1000.slice/user@1000.service/app.slice/rl.scope";
    const c = cgroupInfo(1000, fakeHost({ fs: v2fs, files: delegatedFiles(own), writable: svcWritable }));
    expect(c).toEqual({
      ok: true, reason: null, note: null, version: "v2", ownPath: own, delegatedPath: SVC, insideDelegated: true, writable: true,
      controllers: ["cpu", "io", "memory", "pids"], subtreeControl: ["memory", "pids"], missingControllers: [],
    });
  });

  test("v2, cpu not delegated: ok with a note", () => {
    const own = "/user.slice/user-1000.slice/user@1000.service/app.slice/rl.scope";
    const c = cgroupInfo(1000, fakeHost({ fs: v2fs, files: delegatedFiles(own, "memory pids"), writable: svcWritable }));
    expect(c.ok).toBe(true);
    expect(c.missingControllers).toEqual(["cpu"]);
    expect(c.note).toStartWith("cpu not delegated");
  });

  test("v2, no wanted controller delegated: unavailable", () => {
    const own = "/user.slice/user-1000.slice/user@1000.service/app.slice/rl.scope";
    const c = cgroupInfo(1000, fakeHost({ fs: v2fs, files: delegatedFiles(own, "io"), writable: svcWritable }));
    expect(c.ok).toBe(false);
    expect(c.reason).toContain("Delegate=");
  });

  test("v2, from an ssh session scope: finds the user manager's subtree, notes rl runs outside it", () => {
    const own = "/user.slice/user-1000.slice/session-3.scope";
    const c = cgroupInfo(1000, fakeHost({ fs: v2fs, files: delegatedFiles(own), writable: svcWritable }));
    expect(c).toMatchObject({ ok: true, delegatedPath: SVC, insideDelegated: false });
    expect(c.note).toBe(`rl itself runs outside it, in ${own}`);
  });

  test("v2, subtree present but not writable", () => {
    const c = cgroupInfo(1000, fakeHost({ fs: v2fs, files: delegatedFiles("/user.slice/user-1000.slice/user@1000.service/x") }));
    expect(c).toMatchObject({ ok: false, writable: false, delegatedPath: SVC });
    expect(c.reason).toBe(`${SVC} is not writable by uid 1000, so rl cannot create cgroups there`);
  });

  test("v2, no user manager (no systemd --user)", () => {
    const c = cgroupInfo(1000, fakeHost({ fs: { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC }, files: { "/proc/self/cgroup": "0::/system.slice/ci.service\n" } }));
    expect(c.ok).toBe(false);
    expect(c.reason).toStartWith("no cgroup subtree is delegated to uid 1000");
  });

  test("v2, an own cgroup handed over by other means (CI) counts as delegated", () => {
    const own = "/ci/job-7";
    const dir = `/sys/fs/cgroup${own}`;
    const c = cgroupInfo(1000, fakeHost({
      fs: { "/sys/fs/cgroup": CGROUP2_SUPER_MAGIC },
      files: { "/proc/self/cgroup": `0::${own}\n`, [`${dir}/cgroup.controllers`]: "cpu memory pids" },
      writable: [dir, `${dir}/cgroup.procs`, `${dir}/cgroup.subtree_control`],
    }));
    expect(c).toMatchObject({ ok: true, delegatedPath: dir, insideDelegated: true });
  });
});

describe("userNamespaceInfo", () => {
  const allowed: UsernsSysctls = { maxUserNamespaces: 96365, unprivilegedUsernsClone: null, apparmorRestrictUnprivilegedUserns: null };
  const works = { works: true, detail: "" };
  const notTried = { works: null, detail: "" };
  const fails = { works: false, detail: "clone(CLONE_NEWUSER) failed: Operation not permitted (EPERM)" };
  test.each([
    ["allowed and works", allowed, works, true, null],
    ["allowed, not tried", allowed, notTried, true, null],
    ["max 0", { ...allowed, maxUserNamespaces: 0 }, fails, false, "user.max_user_namespaces = 0"],
    ["max 0, not tried", { ...allowed, maxUserNamespaces: 0 }, notTried, false, "user.max_user_namespaces = 0"],
    ["no CONFIG_USER_NS", { ...allowed, maxUserNamespaces: null }, notTried, false, "CONFIG_USER_NS"],
    ["Debian clone sysctl 0", { ...allowed, unprivilegedUsernsClone: 0 }, fails, false, "kernel.unprivileged_userns_clone=1"],
    ["Ubuntu AppArmor restriction, probe fails", { ...allowed, apparmorRestrictUnprivilegedUserns: 1 }, fails, false, "AppArmor"],
    ["unexplained failure", allowed, fails, false, "EPERM"],
  ] as const)("%s", (_name, sysctls, probe, ok, reasonPart) => {
    const r = userNamespaceInfo(sysctls, probe);
    expect(r.ok).toBe(ok);
    if (reasonPart === null) expect(r.reason).toBeNull();
    else expect(r.reason).toContain(reasonPart);
  });

  test("AppArmor restriction lifted by a profile: ok with a note", () => {
    const r = userNamespaceInfo({ ...allowed, apparmorRestrictUnprivilegedUserns: 1 }, works);
    expect(r).toMatchObject({ ok: true, reason: null, apparmorRestrictUnprivilegedUserns: 1 });
    expect(r.note).toContain("a profile allows this program");
  });

  test("reads the three sysctls, absent ones as null", () => {
    const files: Record<string, string> = { "/proc/sys/user/max_user_namespaces": "15000\n", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n" };
    expect(readUsernsSysctls((p) => files[p] ?? null)).toEqual({ maxUserNamespaces: 15000, unprivilegedUsernsClone: null, apparmorRestrictUnprivilegedUserns: 1 });
  });
});

describe("overlayInfo", () => {
  const probe = (p: Partial<OverlayProbe>): OverlayProbe => ({ userns: { works: true, detail: "" }, mounted: true, errno: null, dir: "/d", ...p });
  test("mounted", () => {
    expect(overlayInfo(probe({}), "6.1.0")).toEqual({ ok: true, reason: null, errno: null, testedIn: "/d" });
  });
  test.each([
    ["EINVAL on a new kernel", probe({ mounted: false, errno: 22 }), "6.1.0", "EINVAL", "userxattr needs Linux 5.11"],
    ["EINVAL on an old kernel", probe({ mounted: false, errno: 22 }), "5.10.0-28-amd64", "EINVAL", "older than 5.11"],
    ["ENODEV", probe({ mounted: false, errno: 19 }), "6.1.0", "ENODEV", "modprobe overlay"],
    // Linux has one number for both names; errnoName picks ENOTSUP.
    ["EOPNOTSUPP", probe({ mounted: false, errno: 95 }), "6.1.0", "ENOTSUP", "user.* xattrs"],
  ] as const)("%s", (_n, p, kernel, errno, part) => {
    const r = overlayInfo(p, kernel);
    expect(r).toMatchObject({ ok: false, errno });
    expect(r.reason).toContain(part);
    expect(r.reason).toContain("apt install fuse-overlayfs");
  });
  test("not tried when user namespaces fail", () => {
    const r = overlayInfo(probe({ mounted: null, userns: { works: false, detail: "x" } }), "6.1.0");
    expect(r.ok).toBe(false);
    expect(r.reason).toStartWith("not tested: user namespaces are unusable");
  });
});

describe("small decisions", () => {
  test.each([
    ["6.18.44-fc-v669", 5, 11, true],
    ["5.11.0", 5, 11, true],
    ["5.10.209", 5, 11, false],
    ["4.19.0-26-amd64", 5, 11, false],
    ["garbage", 5, 11, null],
  ] as const)("kernelAtLeast(%s, %d, %d) = %p", (release, major, minor, want) => {
    expect(kernelAtLeast(release, major, minor)).toBe(want);
  });

  test.each([
    ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n', "Debian GNU/Linux 12 (bookworm)"],
    ["NAME=Alpine\nPRETTY_NAME='Alpine Linux v3.20'\n", "Alpine Linux v3.20"],
    ["PRETTY_NAME=Arch\n", "Arch"],
    ["NAME=x\n", null],
  ] as const)("osPrettyName %#", (text, want) => {
    expect(osPrettyName(text)).toBe(want);
  });

  test("defaultDriver", () => {
    expect(defaultDriver(true, true)).toBe("overlay");
    expect(defaultDriver(false, true)).toBe("fuse-overlayfs");
    expect(defaultDriver(false, false)).toBe("vfs");
  });

  test("devFuseCheck", () => {
    expect(devFuseCheck(true, true, 1000)).toEqual({ ok: true, reason: null });
    expect(devFuseCheck(false, false, 1000).reason).toContain("modprobe fuse");
    expect(devFuseCheck(true, false, 1000).reason).toContain("chmod 666 /dev/fuse");
  });

  test("idMappingReason", () => {
    const ok = { ok: true, reason: null, path: "/usr/bin/newuidmap" };
    const r = [{ start: 100000, count: 65536 }];
    expect(idMappingReason("u", r, r, [ok, ok])).toBeNull();
    expect(idMappingReason("u", [], r, [ok, ok])).toContain("no ranges in /etc/subuid:");
    expect(idMappingReason("u", [], [], [ok, ok])).toContain("/etc/subuid and /etc/subgid");
    const missing = { ok: false, reason: "newuidmap is not installed (Debian/Ubuntu: apt install uidmap)", path: null };
    expect(idMappingReason("u", r, r, [missing, ok])).toBe(missing.reason);
  });
});

describe("formatHostInfo", () => {
  const check = { ok: true, reason: null };
  const info: HostInfo = {
    host: { kernel: "6.1.0", os: "Debian", platform: "linux/amd64", bun: "1.4.5" },
    userNamespaces: { ok: true, reason: null, note: null, maxUserNamespaces: 1, unprivilegedUsernsClone: null, apparmorRestrictUnprivilegedUserns: null },
    idMapping: {
      ok: true, reason: null, user: "u", uid: 1000, gid: 1000, subuid: [{ start: 100000, count: 65536 }], subgid: [{ start: 100000, count: 65536 }],
      existing: { uids: [{ start: 0, count: 4294967295 }], gids: [{ start: 0, count: 4294967295 }] },
      uidMap: [[0, 1000, 1], [1, 100000, 65536]], gidMap: [[0, 1000, 1], [1, 100000, 65536]],
      newuidmap: { ...check, path: "/usr/bin/newuidmap" }, newgidmap: { ...check, path: "/usr/bin/newgidmap" },
    },
    storage: {
      driver: "fuse-overlayfs",
      overlay: { ok: false, reason: "mounting overlayfs in a user namespace failed: x", errno: "EPERM", testedIn: "/d" },
      fuseOverlayfs: { ...check, path: "/usr/bin/fuse-overlayfs", version: "1.10", devFuse: check },
    },
    digest: { engine: "native", forced: false, speeds: { native: 1750, wasm: 250 } },
    network: { slirp4netns: { ok: false, reason: "slirp4netns is not installed (apt install slirp4netns)", path: null, version: null }, devNetTun: check },
    cgroups: {
      ok: false, reason: "this host has hybrid cgroups", note: null, version: "hybrid", ownPath: "/", delegatedPath: null, insideDelegated: false,
      writable: false, controllers: [], subtreeControl: [], missingControllers: ["cpu", "memory", "pids"],
    },
    paths: { data: "/h/.local/share/rl", runtime: "/run/user/1000/rl" },
    start: "executable /r/helpers/build/rl",
    containerStart: "executor program /r/helpers/build/executor-1f",
    storeLog: "checkpointed once past 512 KiB (/r/helpers/build/sqlite-no-checkpoint-2a.so)",
    seccomp: { ok: true, reason: null, actions: ["errno", "kill_process", "allow"], arch: "x86_64" },
  };
  const text = formatHostInfo(info);
  const lines = text.split("\n");

  test("groups in order", () => {
    expect(lines.filter((l) => !l.startsWith(" "))).toEqual(["host:", "user namespaces:", "storage:", "digest:", "network:", "cgroups:", "paths:"]);
  });
  test("values start in one column", () => {
    const cols = new Set(lines.filter((l) => l.startsWith("  ")).map((l) => l.search(/:\s+\S/) + l.slice(l.search(/:\s+\S/) + 1).search(/\S/) + 1));
    expect(cols.size).toBe(1);
  });
  test("states", () => {
    expect(text).toContain("kernel overlayfs: unavailable: mounting overlayfs");
    expect(text).toContain("rl runs from:     executable /r/helpers/build/rl");
    expect(text).toContain("store log:        checkpointed once past 512 KiB (/r/helpers/build/sqlite-no-checkpoint-2a.so)");
    expect(text).toContain("containers start: executor program /r/helpers/build/executor-1f");
    expect(text).toContain("slirp4netns:      missing: slirp4netns is not installed");
    expect(text).toContain("fuse-overlayfs:   ok (/usr/bin/fuse-overlayfs, 1.10)");
    expect(text).toContain("cgroup limits:    unavailable: this host has hybrid cgroups");
    expect(text).toContain("driver:           fuse-overlayfs");
    expect(text).toContain("sha256 native:    1750 MB/s");
    expect(text).toContain("sha256 wasm:      250 MB/s");
    expect(text).toContain("sha256 engine:    native (the faster here)");
  });
});
