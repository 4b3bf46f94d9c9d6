import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { collectGarbage, paths, pruneContainers, pruneImages, removeVolume, spendReserveWhenFull, unusedVolumes } from "../lib/index";
import { pruneFilter } from "../lib/store/image-filters";
import { Session } from "../lib/engine/session";

export const command = "prune";
export const describe = "Remove stopped containers, unnamed images (-a: every unused image) and, with --volumes, unused volumes";

export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Remove every image no container uses, not only <none> ones" },
  volumes: { type: "boolean", default: false, describe: "Also remove the volumes no container uses" },
  force: { alias: "f", type: "boolean", default: false, describe: "Accepted for podman compatibility (rl does not prompt)" },
  filter: { type: "string", array: true, default: [], describe: "Only images that match KEY=VALUE: until (24h, or a time), label; repeatable" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 system prune", "Remove exited containers, <none> images, and the layers and blobs nothing uses"],
  ["$0 system prune -a --volumes", "Also every image and volume no container uses"],
];

export async function handler(a: { all: boolean; volumes: boolean; filter: string[] }): Promise<number> {
  const matches = pruneFilter(a.filter);
  const p = paths();
  spendReserveWhenFull();
  const d = await new Session(p).swept();
  const section = (title: string, names: string[]) => {
    if (names.length) console.log([title, ...names].join("\n"));
  };
  section("Deleted Containers", await pruneContainers(d, p));
  const images = pruneImages(d, p, a.all, matches).flatMap((e) => ("deleted" in e ? [e.deleted.slice(7)] : []));
  section("Deleted Images", images);
  if (a.volumes) {
    const volumes = unusedVolumes(d).map((v) => v.name);
    for (const v of volumes) await removeVolume(d, p, v);
    section("Deleted Volumes", volumes);
  }
  await collectGarbage(d, p);
  return 0;
}
