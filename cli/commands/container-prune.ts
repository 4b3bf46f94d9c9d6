import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, pruneContainers, spendReserveWhenFull } from "../lib/index";
import { Session } from "../lib/engine/session";
import { containerPruneFilter } from "../lib/runtime/container-filter";

export const command = "prune";
export const describe = "Remove every stopped container";

export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Do not ask for confirmation" },
  filter: { type: "string", array: true, default: [], describe: "Only containers that match KEY=VALUE: until (24h, or a time: created before it), label (K, K=V, K!=V: of the container's image); repeatable" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 container prune", "Asks, then removes exited containers; prints their ids"],
  ["$0 container prune -f --filter until=24h", "Without asking, those created more than a day ago"],
];

export async function handler(a: { force: boolean; filter: string[] }): Promise<number> {
  const p = paths();
  spendReserveWhenFull();
  const s = new Session(p);
  const matches = containerPruneFilter(s.d, a.filter);
  if (!a.force) {
    const { confirm } = await import("../lib/prompt");
    if (!(await confirm("WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ", "prune containers"))) return 0;
  }
  const d = await s.swept();
  for (const id of await pruneContainers(d, p, matches)) console.log(id);
  return 0;
}
