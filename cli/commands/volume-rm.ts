import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { findContainer, findVolume, paths, removeContainer, removeVolume, volumeUsers } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "rm <VOLUME..>";
export const describe = "Remove volumes (refused while a container uses one, unless -f)";

export const POSITIONALS = { VOLUME: "volume names" };
export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Remove the containers that use the volume first (killing running ones); ignore missing volumes" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 volume rm data", "Remove the volume data and its files"],
  ["$0 volume rm -f data", "Remove it and every container that uses it"],
];

export async function handler(a: { VOLUME: string[]; force: boolean }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  let code = 0;
  for (const name of a.VOLUME) {
    if (!findVolume(d, name)) {
      if (a.force) continue;
      console.error(`rl: no volume with name ${JSON.stringify(name)} found: no such volume`);
      code = 1;
      continue;
    }
    if (a.force) {
      for (const id of volumeUsers(d, name)) {
        const c = findContainer(d, id);
        if (c?.state === "running" && c.pid) process.kill(c.pid, "SIGKILL");
        await removeContainer(d, p, id);
      }
    }
    await removeVolume(d, p, name);
    console.log(name);
  }
  return code;
}
