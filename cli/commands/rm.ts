import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { findContainer, listContainers, paths, removeContainer, spendReserveWhenFull, stopForRemoval } from "../lib/index";
import { beingCreated } from "../lib/store/container-state";
import { Session } from "../lib/engine/session";
import { namesOrAll } from "./names-or-all";

export const command = "rm [CONTAINER..]";
export const describe = "Remove one or more stopped containers";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Kill a running container first; ignore missing ones" },
  volumes: { alias: "v", type: "boolean", default: false, describe: "Remove the container's anonymous volumes too (named volumes stay)" },
  all: { alias: "a", type: "boolean", default: false, describe: "Remove every container (the running ones too with -f)" },
  ignore: { alias: "i", type: "boolean", default: false, describe: "Ignore containers that do not exist" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 rm web", "Remove the stopped container named web"],
  ["$0 rm -f web db", "Remove web and db, killing them first if they run"],
  ["$0 rm -af", "Remove every container, running or not"],
];

export async function handler(a: { CONTAINER?: string[]; force: boolean; volumes: boolean; all: boolean; ignore: boolean }): Promise<number> {
  const names = namesOrAll("rm", a);
  const p = paths();
  spendReserveWhenFull();
  const d = await new Session(p).swept();
  // podman's codes: 1 when one was not there, 2 when one is running (that wins).
  let code = 0;
  // --all leaves out what another rl is creating or removing now.
  const all = () => listContainers(d).filter((c) => c.state !== "removing" && !beingCreated(c)).map((c) => c.name);
  for (const name of a.all ? all() : names) {
    const c = findContainer(d, name);
    if (!c) {
      if (a.force || a.ignore) continue;
      console.error(`rl: no such container: ${name}`);
      code = Math.max(code, 1);
      continue;
    }
    if (c.state === "running" || beingCreated(c)) {
      // As podman: the others are removed all the same, and the exit code is 2.
      if (!a.force) {
        console.error(`rl: cannot remove container ${name}: it is ${c.state === "running" ? "running" : "being started by another rl"} (stop it first, or use rm -f)`);
        code = 2;
        continue;
      }
      if (!stopForRemoval(d, p, c)) continue;
    }
    await removeContainer(d, p, c.id, { volumes: a.volumes });
    console.log(c.id);
  }
  return code;
}
