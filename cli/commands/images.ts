import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
import { ago, formatTable, humanSize, imageSize, listImages, openStore, paths, shortId } from "../lib/index";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";

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
  ["$0 images --format '{{.Repository}}:{{.Tag}}'", "A Go template, with podman's field names"],
];

/** "docker.io/library/alpine:3.20" → ["docker.io/library/alpine", "3.20"]. */
function splitName(name: string): [string, string] {
  const at = name.lastIndexOf(":");
  return at > name.lastIndexOf("/") ? [name.slice(0, at), name.slice(at + 1)] : [name, "latest"];
}

export async function handler(a: { quiet: boolean; format: OutputFormat }): Promise<number> {
  const d = await openStore(paths());
  const images = listImages(d);
  const created = (i: (typeof images)[number]) => (i.config.created ? Date.parse(i.config.created) : i.stored);
  if (a.quiet) {
    for (const i of images) console.log(shortId(i.id));
    return 0;
  }
  const inUse = d.query("SELECT COUNT(*) AS n FROM containers WHERE image_id = ?");
  const digests = (i: (typeof images)[number]) => (i.manifestDigest ? [...new Set(i.names.map((n) => splitName(n)[0]))].map((r) => `${r}@${i.manifestDigest}`) : []);
  // One row per name, as the table shows them; an unnamed image is one `<none>` row.
  const rows = images.flatMap((i) => (i.names.length ? i.names.map(splitName) : [["<none>", "<none>"]]).map(([repo, tag]) => ({ i, repo: repo!, tag: tag!, size: imageSize(d, i) })));
  printOutput(a.format, {
    json: () =>
      images.map((i) => ({
        Id: i.id.slice(7),
        RepoTags: i.names,
        RepoDigests: digests(i),
        Digest: i.manifestDigest,
        Size: imageSize(d, i),
        Created: Math.floor(created(i) / 1000),
        CreatedAt: new Date(created(i)).toISOString(),
        Names: i.names,
        Dangling: i.names.length === 0,
        Containers: (inUse.get(i.id) as { n: number }).n,
      })),
    table: () => formatTable([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"], ...rows.map((r) => [r.repo, r.tag, shortId(r.i.id), ago(created(r.i)), humanSize(r.size)])]),
    records: () =>
      rows.map(({ i, repo, tag, size }) => ({
        ID: shortId(i.id),
        Id: i.id.slice(7),
        Repository: repo,
        Tag: tag,
        Digest: i.manifestDigest ?? "",
        RepoDigests: digests(i),
        CreatedSince: ago(created(i)),
        CreatedAt: goTime(created(i)),
        Created: goTime(created(i)),
        Size: humanSize(size),
        VirtualSize: size,
        Containers: (inUse.get(i.id) as { n: number }).n,
        Dangling: i.names.length === 0,
        Labels: new Map(Object.entries(i.config.config?.Labels ?? {})),
        Names: i.names,
      })),
    headers: { ID: "IMAGE ID", Id: "IMAGE ID", CreatedSince: "CREATED" },
  });
  return 0;
}
