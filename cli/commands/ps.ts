import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
// Not through lib/index: a listing loads only what it uses (each module costs start-up time).
import { ago, formatTable, humanSize, upFor } from "../lib/format";
import { findImage } from "../lib/store/images";
import { formatPortsColumn } from "../lib/network/ports";
import { listContainers, type ContainerRow } from "../lib/store/containers-table";
import { loadNetwork } from "../lib/network/store";
import { paths } from "../lib/paths";
import { shownState } from "../lib/store/container-state";
import { pausedContainers } from "../lib/runtime/cgroup/container-cgroup";
import { containerFilter } from "../lib/runtime/container-filter";
import { readHealth } from "../lib/runtime/health-state";
import { containerSize } from "../lib/store/disk-usage";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";
import { Session } from "../lib/engine/session";

export const command = "ps";
export const describe = "List containers";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Show all containers (default: running only)" },
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print only container ids" },
  format: FORMAT_FLAG,
  filter: { alias: "f", type: "string", array: true, default: [], describe: "Only containers that match KEY=VALUE (id, name, status, ancestor, exited, label, before, since, network, volume); repeatable: AND across keys, OR within one" },
  last: { alias: "n", type: "number", default: -1, describe: "Only the N last created containers, of any state" },
  latest: { alias: "l", type: "boolean", default: false, describe: "Only the last created container, of any state" },
  "no-trunc": { type: "boolean", default: false, describe: "Do not shorten ids and commands" },
  size: { alias: "s", type: "boolean", default: false, describe: "Show the size of each container's own files" },
  sort: { type: "string", choices: ["created", "id", "image", "names", "status", "command"], default: "created", describe: "Order of the rows" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 ps", "The running containers: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES"],
  ["$0 ps -a", "List every container, exited ones too"],
  ["$0 ps -aq", "Only the ids of every container"],
  ["$0 ps -a --format '{{.Names}} {{.Status}}'", "A Go template, with podman's field names"],
  ["$0 ps -a --filter status=exited --filter ancestor=alpine", "Exited containers of the alpine image"],
];

interface PsArgs {
  all: boolean;
  quiet: boolean;
  format: OutputFormat;
  filter: string[];
  last: number;
  latest: boolean;
  "no-trunc": boolean;
  size: boolean;
  sort: string;
}

export async function handler(a: PsArgs): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  const all = listContainers(d);
  const matches = containerFilter(d, all, a.filter);
  const paused = pausedContainers(d);
  const state = (r: ContainerRow) => shownState(r, paused);
  const last = a.latest ? 1 : a.last;
  let rows = all
    // As in docker, asking for a state or an exit code (or the last N) shows containers of any state.
    .filter((r) => a.all || last > 0 || a.filter.some((f) => /^(status|exited)=/.test(f)) || state(r) === "running")
    .filter(matches)
    .map((r) => ({ ...r, ports: loadNetwork(d, r.id)?.ports ?? [], argv: JSON.parse(r.command || "[]") as string[] }));
  if (last > 0) rows = rows.slice(0, last); // newest first
  // As podman: "Up 3 minutes (healthy)" for a container with a healthcheck.
  const healthNote = (id: string) => {
    const h = readHealth(p, id);
    return h ? ` (${h.Status})` : "";
  };
  const status = (r: (typeof rows)[number]) => {
    const s = state(r);
    return s === "exited" ? `Exited (${r.exit_code}) ${ago(r.finished ?? r.created)}` : s === "running" ? `${upFor(r.started ?? r.created)}${healthNote(r.id)}` : s === "paused" ? "Paused" : "Created";
  };
  const sortKey: Record<string, (r: (typeof rows)[number]) => string | number> = { created: (r) => -r.created, id: (r) => r.id, image: (r) => r.image_name, names: (r) => r.name, status: (r) => status(r), command: (r) => r.argv.join(" ") };
  rows.sort((x, y) => (sortKey[a.sort]!(x) < sortKey[a.sort]!(y) ? -1 : sortKey[a.sort]!(x) > sortKey[a.sort]!(y) ? 1 : 0));
  const id = (r: (typeof rows)[number]) => (a["no-trunc"] ? r.id : r.id.slice(0, 12));
  if (a.quiet) {
    for (const r of rows) console.log(id(r));
    return 0;
  }
  const sizes = new Map(a.size ? rows.map((r) => [r.id, containerSize(p, r.id)] as const) : []);
  printOutput(a.format, {
    json: () => rows.map((r) => ({ Id: r.id, Names: [r.name], Image: r.image_name, ImageID: r.image_id, Command: r.argv, State: state(r), ExitCode: r.exit_code, Pid: r.pid, Created: Math.floor(r.created / 1000), Ports: r.ports, ...(a.size ? { Size: { rwSize: sizes.get(r.id) } } : {}) })),
    table: () => {
      const table = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES", ...(a.size ? ["SIZE"] : [])]];
      for (const r of rows) {
        const cmd = r.argv.join(" ");
        const shown = a["no-trunc"] || cmd.length <= 20 ? cmd : `${cmd.slice(0, 19)}…`;
        table.push([id(r), r.image_name, shown, ago(r.created), status(r), formatPortsColumn(r.ports), r.name, ...(a.size ? [humanSize(sizes.get(r.id)!)] : [])]);
      }
      return formatTable(table);
    },
    // podman's ps reporter: .Names and .Command are strings, .State the status line, .Labels a map.
    records: () =>
      rows.map((r) => ({
        ID: id(r),
        Id: r.id,
        Image: r.image_name,
        ImageID: r.image_id.replace(/^sha256:/, ""),
        Command: r.argv.join(" "),
        CreatedAt: goTime(r.created),
        Created: goTime(r.created),
        CreatedHuman: ago(r.created),
        RunningFor: ago(r.created),
        Status: status(r),
        State: status(r),
        Ports: formatPortsColumn(r.ports),
        Names: r.name,
        Labels: new Map(Object.entries(findImage(d, r.image_id)?.config.config?.Labels ?? {})),
        Mounts: [] as string[],
        Networks: [] as string[],
        Pid: r.pid ?? 0,
        ExitCode: r.exit_code ?? 0,
        Exited: r.state === "exited",
        ExitedAt: r.finished ? Math.floor(r.finished / 1000) : 0,
        AutoRemove: r.auto_remove === 1,
        Size: a.size ? humanSize(sizes.get(r.id)!) : null,
      })),
    headers: { ID: "CONTAINER ID", Id: "CONTAINER ID", CreatedHuman: "CREATED" },
  });
  return 0;
}
