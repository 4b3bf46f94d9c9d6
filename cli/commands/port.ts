import type { Example } from "../verb";
import { openDb, paths, portLines } from "../lib/index";

export const command = "port <CONTAINER> [PORT]";
export const describe = "List a container's published ports";

export const POSITIONALS = { CONTAINER: "container name or id", PORT: "only this container port: PORT[/tcp|/udp]" };
export const EXAMPLES: Example[] = [
  ["$0 port web", "All of web's published ports, e.g. 80/tcp -> 0.0.0.0:8080"],
  ["$0 port web 80/tcp", "The host address of web's port 80/tcp, e.g. 0.0.0.0:8080"],
];

export async function handler(a: { CONTAINER: string; PORT?: string }): Promise<number> {
  const p = paths();
  for (const line of portLines(openDb(p.db), a.CONTAINER, a.PORT)) console.log(line);
  return 0;
}
