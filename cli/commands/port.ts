import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { containerPorts, formatHostAddress, formatPort, openDb, paths, portBindings, portMappingRecord } from "../lib/index";
import { printOutput, type OutputFormat } from "../lib/output-format";

export const command = "port <CONTAINER> [PORT]";
export const describe = "List a container's published ports";

export const POSITIONALS = { CONTAINER: "container name or id", PORT: "only this container port: PORT[/tcp|/udp]" };
export const OPTIONS = {
  format: {
    ...FORMAT_FLAG,
    describe: "Output format: table (docker's lines, the default), json (NetworkSettings.Ports), or a Go template run on each port with podman's names: {{.HostIP}} {{.HostPort}} {{.ContainerPort}} {{.Protocol}} {{.Range}}",
  },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 port web", "All of web's published ports, e.g. 80/tcp -> 0.0.0.0:8080"],
  ["$0 port web 80/tcp", "The host address of web's port 80/tcp, e.g. 0.0.0.0:8080"],
  ["$0 port web 80 --format '{{.HostPort}}'", "Only the host port, e.g. 8080"],
  ["$0 port web --format json", 'As inspect\'s NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}'],
];

const HEADERS = { HostIP: "HOST IP", ContainerPort: "CONTAINER PORT", HostPort: "HOST PORT", Range: "RANGE", Protocol: "PROTOCOL" };

export async function handler(a: { CONTAINER: string; PORT?: string; format: OutputFormat }): Promise<number> {
  const p = paths();
  const ports = containerPorts(openDb(p.db), a.CONTAINER, a.PORT);
  // docker's lines: one a port, nothing at all for none.
  if (a.format.kind === "table") for (const port of ports) console.log(a.PORT === undefined ? formatPort(port) : formatHostAddress(port));
  else printOutput(a.format, { json: () => portBindings(ports), table: () => "", records: () => ports.map(portMappingRecord), headers: HEADERS });
  return 0;
}
