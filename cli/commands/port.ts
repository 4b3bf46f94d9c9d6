import type { Argv } from "yargs";
import { openDb, paths, portLines } from "../lib/index";

export const command = "port <CONTAINER> [PORT]";
export const describe = "List a container's published ports";

export function builder(y: Argv) {
  return y
    .positional("CONTAINER", { type: "string", describe: "container name or id" })
    .positional("PORT", { type: "string", describe: "only this container port: PORT[/tcp|/udp]" })
    .example("$0 port web", "All of web's published ports, e.g. 80/tcp -> 0.0.0.0:8080")
    .example("$0 port web 80/tcp", "The host address of web's port 80/tcp, e.g. 0.0.0.0:8080");
}

export async function handler(a: { CONTAINER: string; PORT?: string }): Promise<number> {
  const p = paths();
  for (const line of portLines(openDb(p.db), a.CONTAINER, a.PORT)) console.log(line);
  return 0;
}
