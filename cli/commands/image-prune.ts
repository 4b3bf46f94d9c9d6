import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { collectGarbage, paths, pruneImages, spendReserveWhenFull } from "../lib/index";
import { Session } from "../lib/engine/session";
import { pruneFilter } from "../lib/store/image-filters";

export const command = "prune";
export const describe = "Remove images without names (with -a: every image no container uses)";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Remove every image no container uses, not only <none> ones" },
  force: { alias: "f", type: "boolean", default: false, describe: "Accepted for podman compatibility (rl does not prompt)" },
  filter: { type: "string", array: true, default: [], describe: "Only images that match KEY=VALUE: until (24h, or a time), label (K, K=V, K!=V); repeatable" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 image prune", "Remove dangling (<none>) images and the layers only they used"],
  ["$0 image prune -a", "Remove every image no container uses"],
  ["$0 image prune -a --filter until=720h", "Remove unused images built more than 30 days ago"],
];

export async function handler(a: { all: boolean; filter: string[] }): Promise<number> {
  const matches = pruneFilter(a.filter);
  const p = paths();
  spendReserveWhenFull();
  const d = await new Session(p).cleaned();
  for (const e of pruneImages(d, p, a.all, matches)) if ("deleted" in e) console.log(e.deleted.slice(7));
  await collectGarbage(d, p);
  return 0;
}
