import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, removeVolume, unusedVolumes } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "prune";
export const describe = "Remove every volume no container uses";

export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Accepted for podman compatibility (rl does not prompt)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [["$0 volume prune -f", "Remove the volumes no container uses; prints their names"]];

export async function handler(): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  for (const v of unusedVolumes(d)) {
    await removeVolume(d, p, v.name);
    console.log(v.name);
  }
  return 0;
}
