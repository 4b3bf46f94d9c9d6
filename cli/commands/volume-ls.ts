import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { formatTable, listVolumes, paths, RlError, volumeRecord, volumeUsers, type VolumeRow } from "../lib/index";
import { Session } from "../lib/engine/session";
import { labelMatches, nameMatches, parseFilters } from "../lib/filters";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";

export const command = "ls";
export const describe = "List volumes";

export const OPTIONS = {
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print only volume names" },
  format: FORMAT_FLAG,
  filter: { alias: "f", type: "string", array: true, default: [], describe: "Only volumes that match KEY=VALUE (name, label, dangling); repeatable: AND across keys, OR within one" },
  noheading: { alias: "n", type: "boolean", default: false, describe: "Do not print the header line" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 volume ls", "DRIVER and VOLUME NAME of every volume"],
  ["$0 volume ls --filter dangling=true -q", "The volumes no container uses"],
  ["$0 volume ls --format '{{.Name}} {{.Mountpoint}}'", "A Go template, with podman's field names"],
];

export async function handler(a: { quiet: boolean; format: OutputFormat; filter: string[]; noheading: boolean }): Promise<number> {
  const p = paths();
  const d = await new Session(p).cleaned();
  const matches = parseFilters<VolumeRow>(a.filter, {
    name: (v, pattern) => nameMatches(v.name, pattern),
    label: (v, value) => labelMatches(v.labels, value),
    dangling: (v, value) => {
      if (!["true", "false", "1", "0"].includes(value)) throw new RlError(`invalid filter dangling=${value}: true or false`);
      return (volumeUsers(d, v.name).length === 0) === (value === "true" || value === "1");
    },
  });
  const volumes = listVolumes(d).filter(matches);
  if (a.quiet) {
    for (const v of volumes) console.log(v.name);
    return 0;
  }
  printOutput(a.format, {
    json: () => volumes.map((v) => volumeRecord(p, v)),
    table: () => {
      const t = formatTable([["DRIVER", "VOLUME NAME"], ...volumes.map((v) => [v.driver, v.name])]);
      return a.noheading ? t.split("\n").slice(1).join("\n") : t;
    },
    records: () => volumes.map((v) => ({ ...volumeRecord(p, v), CreatedAt: goTime(v.created), Labels: new Map(Object.entries(v.labels)), Options: new Map(Object.entries(v.options)) })),
    headers: { Name: "VOLUME NAME" },
  });
  return 0;
}
