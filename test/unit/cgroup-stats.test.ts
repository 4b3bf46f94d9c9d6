import { describe, expect, test } from "bun:test";
import { totalmem } from "node:os";
import { goBytesSize, goDuration, goHumanSize } from "../../cli/lib/format";
import { flatKeyed, ioBytes, netBytes, parsePressure, type CgroupSample } from "../../cli/lib/runtime/cgroup/cgroup-stats";
import { statsJson, statsRecord, type StatsSnapshot, type StatsTarget } from "../../cli/lib/runtime/container-stats";

describe("podman's units: go-units HumanSize and BytesSize, Go's time.Duration", () => {
  test.each([
    [0, "0B"], [999, "999B"], [1000, "1kB"], [49150, "49.15kB"], [3_092_000, "3.092MB"], [16_700_000_000, "16.7GB"], [67_108_864, "67.11MB"], [999_950, "1000kB"],
  ])("HumanSize(%p) = %p", (n, s) => expect(goHumanSize(n)).toBe(s));
  test.each([
    [0, "0B"], [1023, "1023B"], [1024, "1KiB"], [67_108_864, "64MiB"], [21_190_000, "20.21MiB"], [1_027_059_712, "979.5MiB"],
  ])("BytesSize(%p) = %p", (n, s) => expect(goBytesSize(n)).toBe(s));
  test.each([
    [0n, "0s"], [800n, "800ns"], [1500n, "1.5µs"], [4_933_000n, "4.933ms"], [1_000_000_000n, "1s"], [2_650_000_000n, "2.65s"],
    [61_000_000_000n, "1m1s"], [279_028_579_000n, "4m39.028579s"], [3_600_000_000_000n, "1h0m0s"], [3_723_500_000_000n, "1h2m3.5s"],
  ])("Duration(%p) = %p", (ns, s) => expect(goDuration(ns)).toBe(s));
});

describe("reading a cgroup's files", () => {
  test("flat keyed files: cpu.stat, memory.events", () => {
    const m = flatKeyed("usage_usec 12970000\nuser_usec 12900000\nsystem_usec 70000\nnr_periods 288\nnr_throttled 149\nthrottled_usec 1070000\n");
    expect([m.get("usage_usec"), m.get("nr_throttled"), m.get("throttled_usec"), m.get("nope")]).toEqual([12970000, 149, 1070000, undefined]);
    expect(flatKeyed(null).size).toBe(0);
  });
  test("io.stat: read and written bytes summed over the devices", () => {
    expect(ioBytes("98:0 rbytes=4096 wbytes=3145728 rios=1 wios=48 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n")).toEqual({ read: 4196, write: 3145728 });
    expect(ioBytes(null)).toEqual({ read: 0, write: 0 });
  });
  test("pressure files: some and full lines; none without PSI", () => {
    const cpu = parsePressure("some avg10=1.53 avg60=0.87 avg300=0.28 total=4155360\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    expect(cpu).toEqual({ some: { avg10: 1.53, avg60: 0.87, avg300: 0.28, total: 4155360 }, full: { avg10: 0, avg60: 0, avg300: 0, total: 0 } });
    expect(parsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=12\n")!.full).toBeNull();
    expect(parsePressure(null)).toBeNull();
  });
  test("/proc/PID/net/dev: every interface but lo", () => {
    const dev = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0
  tap0:     166       3    0    0    0     0          0         0      116       2    0    0    0     0       0          0
  eth1:      10       1    0    0    0     0          0         0       20       1    0    0    0     0       0          0
`;
    expect(netBytes(dev)).toEqual({ rx: 176, tx: 136 });
    expect(netBytes(null)).toBeNull();
  });
});

describe("statsRecord: podman's fields from two samples", () => {
  const target: StatsTarget = { id: "a".repeat(64), name: "web", started: Date.now() - 10_000, cgroup: "/x", pid: 1, ownNetwork: true };
  const sample = (at: number, usageUsec: number, o: Partial<CgroupSample> = {}): StatsSnapshot => ({
    cgroup: {
      at,
      cpu: { usageUsec, userUsec: usageUsec, systemUsec: 0, nrPeriods: 10, nrThrottled: 4, throttledUsec: 2_500 },
      memory: { usage: 20 * 1024 * 1024, max: 64 * 1024 * 1024, events: { low: 0, high: 2, max: 1, oom: 1, oomKill: 1 } },
      pids: 3,
      io: { read: 4096, write: 3_000_000 },
      pressure: null,
      ...o,
    },
    net: { rx: 1500, tx: 300 },
  });

  test("CPU % is the usage over the time between the samples (not per CPU, as podman); the rest from the newer", () => {
    const r = statsRecord(target, sample(3000, 1_500_000), sample(2000, 1_000_000), false);
    expect(r.CPU).toBe(50);
    expect(r).toMatchObject({
      ID: "aaaaaaaaaaaa", ContainerID: target.id, Name: "web", CPUPerc: "50.00%", MemUsage: "20.97MB / 67.11MB", MemUsageBytes: "20MiB / 64MiB",
      MemPerc: "31.25%", NetIO: "1.5kB / 300B", BlockIO: "4.096kB / 3MB", PIDS: "3", PIDs: 3, UpTime: "1.5s", CPUNano: 1_500_000_000,
      MemLimit: 64 * 1024 * 1024, CPUPeriods: 10, CPUThrottledPeriods: 4, CPUThrottledUsec: 2500, CPUThrottledTime: "2.5ms",
      MemHighEvents: 2, MemMaxEvents: 1, MemOOMKills: 1, CPUPressure: "--", Pressure: null,
    });
    expect(r.AvgCPU).toBeGreaterThan(14);
    expect(r.AvgCPU).toBeLessThanOrEqual(15);
    expect(statsRecord(target, sample(3000, 1_500_000), sample(2000, 1_000_000), true).ID).toBe(target.id);
  });

  test("without an earlier sample (or with a later one: a new cgroup) CPU % is the average since the start", () => {
    const r = statsRecord(target, sample(3000, 1_500_000), undefined, false);
    expect(r.CPU).toBe(r.AvgCPU);
    const restarted = statsRecord(target, sample(3000, 1_500_000), sample(2000, 9_000_000), false);
    expect(restarted.CPU).toBe(restarted.AvgCPU);
  });

  test("no memory limit: the machine's memory is the limit; PSI where the kernel has it", () => {
    const some = { avg10: 12.5, avg60: 3, avg300: 1, total: 99 };
    const r = statsRecord(target, sample(3000, 0, { memory: { usage: 1000, max: null, events: { low: 0, high: 0, max: 0, oom: 0, oomKill: 0 } }, pressure: { cpu: { some, full: null }, memory: null, io: null } }), undefined, false);
    expect(r.MemLimit).toBe(totalmem());
    expect(r.CPUPressure).toBe("12.50%");
    expect(r.MemPressure).toBe("--");
    expect(r.Pressure).toEqual({ CPU: { Some: { Avg10: 12.5, Avg60: 3, Avg300: 1, Total: 99 }, Full: null }, Memory: null, IO: null });
  });

  test("nothing to read: podman's dashes; JSON with podman's keys, then rl's", () => {
    const blank = statsRecord({ ...target, cgroup: null }, undefined, undefined, false);
    expect(blank).toMatchObject({ CPUPerc: "--", MemUsage: "-- / --", NetIO: "-- / --", PIDS: "--", CPU: 0 });
    expect(statsJson(blank, undefined)).toEqual({
      id: "aaaaaaaaaaaa", name: "web", cpu_time: "--", cpu_percent: "--", avg_cpu: "--", mem_usage: "-- / --", mem_percent: "--", net_io: "-- / --",
      block_io: "-- / --", pids: "--", cpu_throttling: null, memory_events: null, pressure: null,
    });
    const cur = sample(3000, 1_500_000);
    const json = statsJson(statsRecord(target, cur, undefined, false), cur);
    expect(json.cpu_throttling).toEqual({ nr_periods: 10, nr_throttled: 4, throttled_usec: 2500 });
    expect(json.memory_events).toEqual({ low: 0, high: 2, max: 1, oom: 1, oom_kill: 1 });
  });

  test("the blank record has every field of a full one (a table header with no rows)", () => {
    expect(Object.keys(statsRecord({ ...target, cgroup: null }, undefined, undefined, false)).sort()).toEqual(Object.keys(statsRecord(target, sample(1, 1), undefined, false)).sort());
  });
});
