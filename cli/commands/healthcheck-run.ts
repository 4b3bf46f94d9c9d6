import type { Example } from "../verb";
import { paths, requireContainer } from "../lib/index";
import { runHealthcheck } from "../lib/engine/healthcheck";
import { Session } from "../lib/engine/session";

export const command = "run <CONTAINER>";
export const describe = "Run a container's healthcheck now: exit 0 healthy, 1 not (the result goes into rl inspect's State.Health)";

export const POSITIONALS = { CONTAINER: "container name or id" };
export const EXAMPLES: Example[] = [["$0 healthcheck run web && echo healthy", "Check web now"]];

export async function handler(a: { CONTAINER: string }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  if (await runHealthcheck(d, p, requireContainer(d, a.CONTAINER))) return 0;
  console.log("unhealthy");
  return 1;
}
