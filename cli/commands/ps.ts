import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { ago, formatPortsColumn, formatTable, listContainers, loadNetwork, openDb, paths, sweepStale } from "../lib/index";

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
];

export async function handler(a: { all: boolean; quiet: boolean; format: string }): Promise<number> {
  const p = paths();
  const d = openDb(p.db);
  await sweepStale(d, p);
  const rows = listContainers(d).filter((r) => a.all || r.state === "running");
  if (a.format === "json") {
    console.log(JSON.stringify(rows.map((r) => ({ Id: r.id, Names: [r.name], Image: r.image_name, ImageID: r.image_id, Command: JSON.parse(r.command || "[]"), State: r.state, ExitCode: r.exit_code, Pid: r.pid, Created: Math.floor(r.created / 1000), Ports: loadNetwork(d, r.id)?.ports ?? [] })), null, 2));
    return 0;
  }
  if (a.quiet) {
    for (const r of rows) console.log(r.id.slice(0, 12));
    return 0;
  }
  const table = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]];
  for (const r of rows) {
    const cmd = (JSON.parse(r.command || "[]") as string[]).join(" ");
    const status = r.state === "exited" ? `Exited (${r.exit_code}) ${ago(r.finished ?? r.created)}` : r.state === "running" ? "Up" : "Created";
    table.push([r.id.slice(0, 12), r.image_name, cmd.length > 20 ? `${cmd.slice(0, 19)}…` : cmd, ago(r.created), status, formatPortsColumn(loadNetwork(d, r.id)?.ports ?? []), r.name]);
  }
  console.log(formatTable(table));
  return 0;
}
