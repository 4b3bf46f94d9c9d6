import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { collectGarbage, openStore, paths, pruneImages, spendReserveWhenFull } from "../lib/index";

export const command = "prune";
export const describe = "Remove images without names (with -a: every image no container uses)";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Remove every image no container uses, not only <none> ones" },
  force: { alias: "f", type: "boolean", default: false, describe: "Accepted for podman compatibility (rl does not prompt)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 image prune", "Remove dangling (<none>) images and the layers only they used"],
  ["$0 image prune -a", "Remove every image no container uses"],
];

export async function handler(a: { all: boolean }): Promise<number> {
  const p = paths();
  spendReserveWhenFull();
  const d = await openStore(p);
  for (const e of pruneImages(d, p, a.all)) if ("deleted" in e) console.log(e.deleted.slice(7));
  await collectGarbage(d, p);
  return 0;
}
