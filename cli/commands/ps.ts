import type { Argv } from "yargs";
import { ago, formatPortsColumn, formatTable, listContainers, loadNetwork, openDb, paths, sweepStale } from "../lib/index";

export const command = "ps";
export const describe = "List containers";

export function builder(y: Argv) {
  return y
    .option("all", { alias: "a", type: "boolean", default: false, describe: "Show all containers (default: running only)" })
    .option("quiet", { alias: "q", type: "boolean", default: false, describe: "Print only container ids" })
    .option("format", { type: "string", choices: ["table", "json"], default: "table", describe: "Output format" })
    .example("$0 ps -a", "List every container, exited ones too");
}

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
