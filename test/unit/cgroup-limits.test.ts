import { describe, expect, test } from "bun:test";
import { blkioToIoWeight, parseLimits, parseSize, sharesToWeight, type LimitFlags } from "../../cli/lib/runtime/cgroup/limits";
import { cgroupParent } from "../../cli/lib/runtime/cgroup/container-cgroup";
import { hostConfigLimits, mergeResources } from "../../cli/lib/runtime/cgroup/resources";
import type { CgroupInfo } from "../../cli/lib/host/cgroups";

const none: LimitFlags = { deviceReadBps: [], deviceWriteBps: [], deviceReadIops: [], deviceWriteIops: [] };
const devices: Record<string, string> = { "/dev/sda": "8:0", "/dev/vdb": "252:16" };
const fakeDevice = (path: string, flag: string) => {
  if (!devices[path]) throw new Error(`invalid ${flag} ${path}: not a block device`);
  return devices[path]!;
};
const limits = (f: Partial<LimitFlags>) => parseLimits({ ...none, ...f }, fakeDevice);
const files = (f: Partial<LimitFlags>) => Object.fromEntries(limits(f).writes.filter((w) => !w.ifPresent).map((w) => [w.file, w.value]));

describe("parseSize (go-units RAMInBytes, as podman)", () => {
  test("bytes and binary units, any case, with an optional b or ib", () => {
    expect(parseSize("512", "--memory")).toBe(512);
    expect(parseSize("512k", "--memory")).toBe(512 * 1024);
    expect(parseSize("64m", "--memory")).toBe(64 * 1024 ** 2);
    expect(parseSize("64MB", "--memory")).toBe(64 * 1024 ** 2);
    expect(parseSize("64MiB", "--memory")).toBe(64 * 1024 ** 2);
    expect(parseSize("1g", "--memory")).toBe(1024 ** 3);
    expect(parseSize("1.5g", "--memory")).toBe(1.5 * 1024 ** 3);
    expect(parseSize("10b", "--memory")).toBe(10);
  });
  test("anything else is one clear error naming the flag", () => {
    for (const bad of ["", "m", "-1m", "64x", "1e3", "64 m b"]) expect(() => parseSize(bad, "--memory")).toThrow(`invalid size ${JSON.stringify(bad)} for --memory`);
  });
});

describe("parseLimits: podman's cgroup v2 translation", () => {
  test("no flag, no cgroup file", () => {
    expect(limits({})).toEqual({ writes: [], oomScoreAdj: undefined, resources: {} });
  });

  test("memory: memory.max, memory.low, memory.swap.max as swap minus memory; -1 unlimited", () => {
    expect(files({ memory: "64m", memoryReservation: "32m", memorySwap: "128m" })).toEqual({ "memory.max": "67108864", "memory.low": "33554432", "memory.swap.max": "67108864" });
    expect(files({ memory: "64m", memorySwap: "-1" })["memory.swap.max"]).toBe("max");
    // podman's default: as much swap as memory, where the kernel has the file.
    expect(limits({ memory: "64m" }).writes.find((w) => w.file === "memory.swap.max")).toMatchObject({ value: "67108864", ifPresent: true });
  });

  test("memory: podman's checks", () => {
    expect(() => limits({ memory: "4m" })).toThrow("invalid --memory 4m: the minimum is 6m");
    expect(() => limits({ memorySwap: "1g" })).toThrow("--memory-swap needs --memory");
    expect(() => limits({ memory: "64m", memorySwap: "32m" })).toThrow("must not be below --memory");
    expect(() => limits({ memory: "64m", memoryReservation: "128m" })).toThrow("must not be above --memory");
  });

  test("cpu: --cpus, --cpu-period/--cpu-quota to cpu.max; --cpu-shares to cpu.weight", () => {
    expect(files({ cpus: "0.5" })).toEqual({ "cpu.max": "50000 100000" });
    expect(files({ cpus: "2" })).toEqual({ "cpu.max": "200000 100000" });
    expect(files({ cpuQuota: "25000", cpuPeriod: "50000" })).toEqual({ "cpu.max": "25000 50000" });
    expect(files({ cpuQuota: "25000" })).toEqual({ "cpu.max": "25000 100000" });
    expect(files({ cpuPeriod: "50000" })).toEqual({ "cpu.max": "max 50000" });
    expect(files({ cpuShares: "1024" })).toEqual({ "cpu.weight": "39" });
    expect(() => limits({ cpus: "1", cpuPeriod: "1000" })).toThrow("--cpu-period and --cpus cannot be set together");
    expect(() => limits({ cpus: "0" })).toThrow("invalid --cpus");
    expect(() => limits({ cpus: "half" })).toThrow("invalid --cpus");
    expect(() => limits({ cpus: "0.001" })).toThrow("the smallest is 0.01");
    expect(() => limits({ cpuShares: "1" })).toThrow("invalid --cpu-shares 1: it must be from 2 to 262144");
  });

  test("crun's conversions: shares 2..262144 to weight 1..10000, blkio 10..1000 to io.weight 1..10000", () => {
    expect([sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144)]).toEqual([1, 39, 10000]);
    expect([blkioToIoWeight(10), blkioToIoWeight(500), blkioToIoWeight(1000)]).toEqual([1, 4950, 10000]);
  });

  test("cpuset, pids, blkio weight", () => {
    expect(files({ cpusetCpus: "0-2,4", cpusetMems: "0" })).toEqual({ "cpuset.cpus": "0-2,4", "cpuset.mems": "0" });
    expect(() => limits({ cpusetCpus: "0-2;4" })).toThrow("invalid --cpuset-cpus");
    expect(() => limits({ cpusetCpus: "3-1" })).toThrow("goes backwards");
    expect(files({ pidsLimit: "10" })).toEqual({ "pids.max": "10" });
    expect(files({ pidsLimit: "-1" })).toEqual({ "pids.max": "max" });
    expect(() => limits({ pidsLimit: "1.5" })).toThrow('invalid --pids-limit "1.5": use a whole number');
    const w = limits({ blkioWeight: "500" }).writes[0]!;
    expect(w.alternatives).toEqual([{ file: "io.bfq.weight", value: "500" }, { file: "io.weight", value: "default 4950" }]);
    expect(() => limits({ blkioWeight: "5" })).toThrow("invalid --blkio-weight 5");
  });

  test("device rates: one io.max line per device, by MAJ:MIN", () => {
    const w = limits({ deviceReadBps: ["/dev/sda:1mb"], deviceWriteBps: ["/dev/sda:512k"], deviceWriteIops: ["/dev/vdb:100"] }).writes;
    expect(w.map((x) => x.value)).toEqual(["8:0 rbps=1048576 wbps=524288", "252:16 wiops=100"]);
    expect(() => limits({ deviceReadBps: ["/dev/sda"] })).toThrow("use DEVICE:RATE");
    expect(() => limits({ deviceReadIops: ["/dev/sda:1k"] })).toThrow("the rate must be a number of operations per second");
    expect(() => limits({ deviceReadBps: ["/dev/nope:1m"] })).toThrow("not a block device");
  });

  test("--oom-score-adj: -1000..1000, no cgroup", () => {
    expect(limits({ oomScoreAdj: "500" })).toEqual({ writes: [], oomScoreAdj: 500, resources: {} });
    expect(() => limits({ oomScoreAdj: "1001" })).toThrow("invalid --oom-score-adj 1001");
  });
});

describe("cgroupParent: where limits can go, or why not", () => {
  const base: CgroupInfo = {
    ok: true, reason: null, note: null, version: "v2", ownPath: "/user.slice/user-1000.slice/user@1000.service/app.slice/a.scope",
    delegatedPath: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service", insideDelegated: true, writable: true,
    controllers: ["cpu", "memory", "pids"], subtreeControl: ["cpu", "memory", "pids"], missingControllers: [],
  };
  test("no limit: no cgroup, the host is not even looked at", () => {
    expect(cgroupParent(limits({ oomScoreAdj: "10" }), 1000, () => { throw new Error("looked"); })).toBeNull();
  });
  test("a hybrid host: the limit's flag, the reason, and what to do", () => {
    const hybrid = { ...base, ok: false, reason: "this host has hybrid cgroups (v1 controllers, empty v2)", delegatedPath: null };
    expect(() => cgroupParent(limits({ memory: "64m" }), 1000, () => hybrid)).toThrow(
      "cannot set --memory: this host has hybrid cgroups (v1 controllers, empty v2); limits need cgroup v2 with the memory controller delegated to you by systemd (Delegate=yes in user@.service)",
    );
  });
  test("a controller not delegated", () => {
    expect(() => cgroupParent(limits({ cpusetCpus: "0" }), 1000, () => base)).toThrow("cannot set --cpuset-cpus: the cpuset controller is not delegated to");
  });
  test("rl outside the delegated subtree cannot move its container into it", () => {
    expect(() => cgroupParent(limits({ pidsLimit: "5" }), 1000, () => ({ ...base, insideDelegated: false, ownPath: "/user.slice/user-1000.slice/session-1.scope" }))).toThrow("outside the subtree delegated to you");
  });
});

describe("resources: the limits as the runtime spec records them, rl update's merge, inspect's HostConfig", () => {
  test("parseLimits records the flags' values (podman's swap default: twice the memory)", () => {
    expect(limits({ memory: "64m", memoryReservation: "32m" }).resources).toEqual({ memory: { limit: 64 * 1024 ** 2, reservation: 32 * 1024 ** 2, swap: 128 * 1024 ** 2 } });
    expect(limits({ memory: "64m", memorySwap: "-1" }).resources.memory!.swap).toBe(-1);
    expect(limits({ cpus: "0.5", cpuShares: "1024", cpusetCpus: "0-1" }).resources).toEqual({ cpu: { quota: 50000, period: 100000, shares: 1024, cpus: "0-1" } });
    expect(limits({ cpuPeriod: "50000" }).resources).toEqual({ cpu: { period: 50000 } });
    expect(limits({ pidsLimit: "-1" }).resources).toEqual({ pids: { limit: 0 } });
    expect(limits({ blkioWeight: "500", deviceWriteBps: ["/dev/sda:1mb"], deviceReadIops: ["/dev/vdb:100"] }).resources).toEqual({
      blockIO: { weight: 500, throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleReadIOPSDevice: [{ major: 252, minor: 16, rate: 100 }] },
    });
  });

  test("an update replaces what it sets and keeps the rest; cpu.max whole; device rates per device", () => {
    const old = limits({ memory: "64m", pidsLimit: "10", cpus: "1", deviceWriteBps: ["/dev/sda:1mb", "/dev/vdb:2mb"] }).resources;
    expect(mergeResources(old, limits({ pidsLimit: "5" }).resources)).toEqual({ ...old, pids: { limit: 5 } });
    expect(mergeResources(old, limits({ memory: "32m" }).resources).memory).toEqual({ limit: 32 * 1024 ** 2, swap: 64 * 1024 ** 2 });
    expect(mergeResources(old, limits({ cpuPeriod: "50000" }).resources).cpu).toEqual({ period: 50000 });
    expect(mergeResources(old, limits({ cpuShares: "512" }).resources).cpu).toEqual({ quota: 100000, period: 100000, shares: 512 });
    expect(mergeResources(old, limits({ deviceWriteBps: ["/dev/sda:3mb"] }).resources).blockIO!.throttleWriteBpsDevice).toEqual([
      { major: 252, minor: 16, rate: 2 * 1048576 }, { major: 8, minor: 0, rate: 3 * 1048576 },
    ]);
    expect(mergeResources({}, limits({ pidsLimit: "5" }).resources)).toEqual({ pids: { limit: 5 } });
  });

  test("a reservation above the recorded memory limit is refused", () => {
    const old = limits({ memory: "64m" }).resources;
    expect(() => mergeResources(old, limits({ memoryReservation: "128m" }).resources)).toThrow("invalid --memory-reservation 134217728: it must not be above the memory limit (67108864 bytes)");
  });

  test("HostConfig: podman's fields, zero (null for device lists) where nothing is set", () => {
    expect(hostConfigLimits(limits({ memory: "64m", cpus: "0.5", pidsLimit: "50" }).resources, 500)).toMatchObject({
      Memory: 64 * 1024 ** 2, MemorySwap: 128 * 1024 ** 2, MemoryReservation: 0, NanoCpus: 500_000_000, CpuQuota: 50000, CpuPeriod: 100000,
      CpuShares: 0, PidsLimit: 50, BlkioWeight: 0, BlkioDeviceReadBps: null, OomScoreAdj: 500,
    });
    expect(hostConfigLimits(undefined)).toMatchObject({ Memory: 0, NanoCpus: 0, CpusetCpus: "", PidsLimit: 0, BlkioDeviceWriteIOps: null, OomScoreAdj: 0 });
    // A device rate names the device found under /dev, else its MAJ:MIN.
    expect(hostConfigLimits({ blockIO: { throttleReadBpsDevice: [{ major: 4095, minor: 4095, rate: 7 }] } }).BlkioDeviceReadBps).toEqual([{ Path: "4095:4095", Rate: 7 }]);
  });
});
