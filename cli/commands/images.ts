import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { ago, formatTable, humanSize, imageSize, listImages, openStore, paths, shortId } from "../lib/index";

export const command = "images";
export const describe = "List stored images";

export const OPTIONS = {
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print only image ids" },
  format: FORMAT_FLAG,
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 images", "REPOSITORY, TAG, IMAGE ID, CREATED and SIZE of every image"],
  ["$0 images -q", "Only the ids (one per image)"],
  ["$0 images --format json", "For programs"],
];

/** "docker.io/library/alpine:3.20" → ["docker.io/library/alpine", "3.20"]. */
function splitName(name: string): [string, string] {
  const at = name.lastIndexOf(":");
  return at > name.lastIndexOf("/") ? [name.slice(0, at), name.slice(at + 1)] : [name, "latest"];
}

export async function handler(a: { quiet: boolean; format: string }): Promise<number> {
  const d = await openStore(paths());
  const images = listImages(d);
  const created = (i: (typeof images)[number]) => (i.config.created ? Date.parse(i.config.created) : i.stored);
  if (a.format === "json") {
    const inUse = d.query("SELECT COUNT(*) AS n FROM containers WHERE image_id = ?");
    const out = images.map((i) => ({
      Id: i.id.slice(7),
      RepoTags: i.names,
      RepoDigests: i.manifestDigest ? [...new Set(i.names.map((n) => splitName(n)[0]))].map((r) => `${r}@${i.manifestDigest}`) : [],
      Digest: i.manifestDigest,
      Size: imageSize(d, i),
      Created: Math.floor(created(i) / 1000),
      CreatedAt: new Date(created(i)).toISOString(),
      Names: i.names,
      Dangling: i.names.length === 0,
      Containers: (inUse.get(i.id) as { n: number }).n,
    }));
    console.log(JSON.stringify(out, null, 2));
    return 0;
  }
  if (a.quiet) {
    for (const i of images) console.log(shortId(i.id));
    return 0;
  }
  const rows = [["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]];
  for (const i of images) {
    const size = humanSize(imageSize(d, i));
    const names = i.names.length ? i.names.map(splitName) : [["<none>", "<none>"]];
    for (const [repo, tag] of names) rows.push([repo!, tag!, shortId(i.id), ago(created(i)), size]);
  }
  console.log(formatTable(rows));
  return 0;
}
