import type { Example } from "../verb";
import { findContainer, paths } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "exists <CONTAINER>";
export const describe = "Exit 0 when the container exists, 1 when not";

export const POSITIONALS = { CONTAINER: "container name or id (or a prefix of the id)" };
export const OPTIONS = {};
export const EXAMPLES: Example[] = [["$0 container exists web || $0 run --name web alpine sleep 1000", "Start web unless it exists"]];

export async function handler(a: { CONTAINER: string }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  return findContainer(d, a.CONTAINER) ? 0 : 1;
}
