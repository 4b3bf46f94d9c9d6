import { writeSync } from "node:fs";
import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, RlError } from "../lib/index";
import { parseFormat, printOutput, renderTemplate, type OutputFormat } from "../lib/output-format";
import { snapshot, statsJson, statsRecord, type StatsSnapshot, type StatsTarget } from "../lib/runtime/container-stats";
import { statsTargets } from "../lib/runtime/stats-targets";
import { Session } from "../lib/engine/session";

export const command = "stats [CONTAINER..]";
export const describe = "Show containers' use of CPU, memory, network, disk and processes, live (from their cgroups)";

const FIELDS =
  "podman's fields (.ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDS .UpTime .AVGCPU, and as numbers .CPU .AvgCPU .CPUNano .MemLimit .NetInput .NetOutput .BlockInput .BlockOutput .PIDs) " +
  "and rl's: .CPUPeriods .CPUThrottledPeriods .CPUThrottledUsec .CPUThrottledTime (cpu.stat nr_periods, nr_throttled, throttled_usec), " +
  ".MemLowEvents .MemHighEvents .MemMaxEvents .MemOOMEvents .MemOOMKills (memory.events low, high, max, oom, oom_kill), " +
  ".CPUPressure .MemPressure .IOPressure (pressure stall information: the share of the last 10 s in which some task waited for CPU, memory or IO; -- where the kernel has no PSI) " +
  "and .Pressure.CPU|Memory|IO.Some|Full.Avg10|Avg60|Avg300|Total";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Show every container (default: the running ones)" },
  "no-stream": { type: "boolean", default: false, describe: "Print one report, measured over one interval, and exit" },
  "no-trunc": { type: "boolean", default: false, describe: "Do not shorten ids" },
  "no-reset": { type: "boolean", default: false, describe: "Do not clear the terminal between reports" },
  interval: {
    alias: "i", type: "number", default: 1, describe: "Seconds between reports, over which CPU % is measured (podman's default is 5)",
    coerce: (v: number) => {
      if (!(v > 0) || v > 86400) throw new Error("use a number of seconds above 0, e.g. 1 or 0.5");
      return v;
    },
  },
  format: {
    type: "string", default: "table", coerce: parseFormat,
    describe: `table (podman's columns), json (podman's keys, then cpu_throttling, memory_events and pressure, as the kernel names them; null where unknown), or a Go template on ${FIELDS}`,
  },
} as const satisfies OptionTable;

export const POSITIONALS = { CONTAINER: "container names or ids (default: every running container); each needs a cgroup of its own (started with a limit flag of rl run)" };
export const EXAMPLES: Example[] = [
  ["$0 stats", "Every running container, refreshed every second: ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET IO, BLOCK IO, PIDS, CPU TIME, AVG CPU %"],
  ["$0 stats --no-stream web", "One report for web, CPU % over one second"],
  ["$0 stats --no-stream --format 'table {{.Name}} {{.CPUPerc}} {{.CPUThrottledPeriods}} {{.CPUThrottledTime}}' web", "Whether --cpus holds web back: how often and how long it was throttled"],
  ["$0 stats --no-stream --format '{{.Name}} {{.MemUsage}} oom_kill={{.MemOOMKills}} high={{.MemHighEvents}}' web", "Memory, and how often it met its limits (memory.events)"],
  ["$0 stats --no-stream --format json web", "podman's JSON, plus throttling, memory.events and PSI as numbers"],
];

const DEFAULT = parseFormat("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}") as Extract<OutputFormat, { kind: "template" }>;
const HEADERS = {
  ID: "ID", ContainerID: "ID", Name: "NAME", CPUPerc: "CPU %", MemUsage: "MEM USAGE / LIMIT", MemUsageBytes: "MEM USAGE / LIMIT", MemPerc: "MEM %",
  NetIO: "NET IO", BlockIO: "BLOCK IO", PIDS: "PIDS", UpTime: "CPU TIME", AVGCPU: "AVG CPU %",
};
const BLANK = statsRecord({ id: "", name: "", started: 0, cgroup: null, pid: null, ownNetwork: false }, undefined, undefined, false);

interface StatsArgs {
  CONTAINER?: string[];
  all: boolean;
  "no-stream": boolean;
  "no-trunc": boolean;
  "no-reset": boolean;
  interval: number;
  format: OutputFormat;
}

export async function handler(a: StatsArgs): Promise<number> {
  const names = a.CONTAINER ?? [];
  if (names.length && a.all) throw new RlError("--all and container names cannot be used together");
  const p = paths();
  const d = await new Session(p).swept();
  const select = statsTargets(d, names, a.all);
  const sample = (targets: StatsTarget[]) => new Map(targets.flatMap((t) => {
    const s = snapshot(t);
    return s ? [[t.id, s] as const] : [];
  }));
  const clear = !a["no-stream"] && !a["no-reset"] && process.stdout.isTTY;
  let prev: Map<string, StatsSnapshot> = sample(select());
  for (;;) {
    await Bun.sleep(a.interval * 1000);
    const targets = select();
    if (names.length && !targets.length) return 0; // every named container has ended
    const cur = sample(targets);
    const rows = targets.map((t) => ({ record: statsRecord(t, cur.get(t.id), prev.get(t.id), a["no-trunc"]), cur: cur.get(t.id) }));
    if (clear) writeSync(1, "\x1b[2J\x1b[H");
    printOutput(a.format, {
      json: () => rows.map((r) => statsJson(r.record, r.cur)),
      table: () => renderTemplate(DEFAULT, rows.map((r) => r.record), HEADERS, BLANK).replace(/\n$/, ""),
      records: () => rows.map((r) => r.record),
      headers: HEADERS,
      blank: BLANK,
    });
    if (a["no-stream"]) return 0;
    prev = cur;
  }
}
