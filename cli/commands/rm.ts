import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { findContainer, killForRemoval, paths, removeContainer, spendReserveWhenFull } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "rm <CONTAINER..>";
export const describe = "Remove one or more stopped containers";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Kill a running container first; ignore missing ones" },
  volumes: { alias: "v", type: "boolean", default: false, describe: "Remove the container's anonymous volumes too (named volumes stay)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 rm web", "Remove the stopped container named web"],
  ["$0 rm -f web db", "Remove web and db, killing them first if they run"],
];

export async function handler(a: { CONTAINER: string[]; force: boolean; volumes: boolean }): Promise<number> {
  const p = paths();
  spendReserveWhenFull();
  const d = await new Session(p).swept();
  // podman's codes: 1 when one was not there, 2 when one is running (that wins).
  let code = 0;
  for (const name of a.CONTAINER) {
    const c = findContainer(d, name);
    if (!c) {
      if (a.force) continue;
      console.error(`rl: no such container: ${name}`);
      code = Math.max(code, 1);
      continue;
    }
    if (c.state === "running") {
      // As podman: the others are removed all the same, and the exit code is 2.
      if (!a.force) {
        console.error(`rl: cannot remove container ${name}: it is running (stop it first, or use rm -f)`);
        code = 2;
        continue;
      }
      killForRemoval(d, p, c);
    }
    await removeContainer(d, p, c.id, { volumes: a.volumes });
    console.log(c.id);
  }
  return code;
}
