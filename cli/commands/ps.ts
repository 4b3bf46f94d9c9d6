import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { ago, formatPortsColumn, formatTable, listContainers, loadNetwork, openDb, paths, sweepStale } from "../lib/index";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";

export const command = "ps";
export const describe = "List containers";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Show all containers (default: running only)" },
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print only container ids" },
  format: FORMAT_FLAG,
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 ps", "The running containers: CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES"],
  ["$0 ps -a", "List every container, exited ones too"],
  ["$0 ps -aq", "Only the ids of every container"],
  ["$0 ps -a --format '{{.Names}} {{.Status}}'", "A Go template, with podman's field names"],
];

export async function handler(a: { all: boolean; quiet: boolean; format: OutputFormat }): Promise<number> {
  const p = paths();
  const d = openDb(p.db);
  await sweepStale(d, p);
  const rows = listContainers(d).filter((r) => a.all || r.state === "running").map((r) => ({ ...r, ports: loadNetwork(d, r.id)?.ports ?? [], argv: JSON.parse(r.command || "[]") as string[] }));
  if (a.quiet) {
    for (const r of rows) console.log(r.id.slice(0, 12));
    return 0;
  }
  const status = (r: (typeof rows)[number]) => (r.state === "exited" ? `Exited (${r.exit_code}) ${ago(r.finished ?? r.created)}` : r.state === "running" ? "Up" : "Created");
  printOutput(a.format, {
    json: () => rows.map((r) => ({ Id: r.id, Names: [r.name], Image: r.image_name, ImageID: r.image_id, Command: r.argv, State: r.state, ExitCode: r.exit_code, Pid: r.pid, Created: Math.floor(r.created / 1000), Ports: r.ports })),
    table: () => {
      const table = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]];
      for (const r of rows) {
        const cmd = r.argv.join(" ");
        table.push([r.id.slice(0, 12), r.image_name, cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd, ago(r.created), status(r), formatPortsColumn(r.ports), r.name]);
      }
      return formatTable(table);
    },
    // podman's ps reporter: .Names and .Command are strings, .State the status line, .Labels a map.
    records: () =>
      rows.map((r) => ({
        ID: r.id.slice(0, 12),
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
        Labels: new Map<string, string>(),
        Mounts: [] as string[],
        Networks: [] as string[],
        Pid: r.pid ?? 0,
        ExitCode: r.exit_code ?? 0,
        Exited: r.state === "exited",
        ExitedAt: r.finished ? Math.floor(r.finished / 1000) : 0,
        AutoRemove: r.auto_remove === 1,
        Size: null,
      })),
    headers: { ID: "CONTAINER ID", Id: "CONTAINER ID", CreatedHuman: "CREATED" },
  });
  return 0;
}
