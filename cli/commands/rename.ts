import type { Example } from "../verb";
import { paths, renameContainer, requireContainer } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "rename <CONTAINER> <NAME>";
export const describe = "Rename a container, running or not";

export const POSITIONALS = { CONTAINER: "container name or id", NAME: "the new name: [a-zA-Z0-9][a-zA-Z0-9_.-]*, not another container's. As in podman, a running container's /etc/hosts keeps the name it started with" };
export const OPTIONS = {};
export const EXAMPLES: Example[] = [
  ["$0 rename funny_turing web", "The container funny_turing is now web (rl ps, inspect, rm... know it by that name)"],
  ["$0 rename 3f2a9c web-old", "Rename by id (or a prefix of it)"],
];

export async function handler(a: { CONTAINER: string; NAME: string }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  renameContainer(d, p, requireContainer(d, a.CONTAINER), a.NAME);
  return 0;
}
