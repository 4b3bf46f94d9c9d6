import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { FORMAT_FLAG } from "./output-flags";
// Not through lib/index: a listing loads only what it uses (each module costs start-up time).
import { ago, formatTable, humanSize, shortId } from "../lib/format";
import { imageSize, listImages } from "../lib/store/images";
import { Session } from "../lib/engine/session";
import { splitName } from "../lib/image/reference";
import { imageCreated, imageFilter, referenceMatches } from "../lib/store/image-filters";
import { goTime, printOutput, type OutputFormat } from "../lib/output-format";
import { containerCountOfImage } from "../lib/store/containers-table";

export const command = "images [REFERENCE]";
export const describe = "List stored images";

export const POSITIONALS = { REFERENCE: "only images whose name matches (alpine, alpine:3.*, docker.io/library/*)" };
export const OPTIONS = {
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print only image ids" },
  format: FORMAT_FLAG,
  all: { alias: "a", type: "boolean", default: false, describe: "Show intermediate images too (rl keeps none: every image is listed either way)" },
  digests: { type: "boolean", default: false, describe: "Show each image's manifest digest" },
  "no-trunc": { type: "boolean", default: false, describe: "Show whole image ids" },
  noheading: { alias: "n", type: "boolean", default: false, describe: "Do not print the header line" },
  filter: { alias: "f", type: "string", array: true, default: [], describe: "Only images that match KEY=VALUE (dangling, reference, label, before, since); repeatable: AND across keys, OR within one" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 images", "REPOSITORY, TAG, IMAGE ID, CREATED and SIZE of every image"],
  ["$0 images -q", "Only the ids (one per image)"],
  ["$0 images --format json", "For programs"],
  ["$0 images --format '{{.Repository}}:{{.Tag}}'", "A Go template, with podman's field names"],
  ["$0 images --filter dangling=true -q", "The ids of unnamed images"],
  ["$0 images 'alpine:3.*'", "Only alpine images tagged 3.something"],
];

interface ImagesArgs {
  REFERENCE?: string;
  quiet: boolean;
  format: OutputFormat;
  all: boolean;
  digests: boolean;
  "no-trunc": boolean;
  noheading: boolean;
  filter: string[];
}

export async function handler(a: ImagesArgs): Promise<number> {
  const d = await new Session().cleaned();
  const all = listImages(d);
  const created = imageCreated;
  const matches = imageFilter(d, a.REFERENCE === undefined ? a.filter : [...a.filter, `reference=${a.REFERENCE}`]);
  const images = all.filter(matches);
  const id = (i: (typeof all)[number]) => (a["no-trunc"] ? i.id : shortId(i.id));
  if (a.quiet) {
    for (const i of images) console.log(id(i));
    return 0;
  }
  const digests = (i: (typeof images)[number]) => (i.manifestDigest ? [...new Set(i.names.map((n) => splitName(n)[0]))].map((r) => `${r}@${i.manifestDigest}`) : []);
  // One row per name, as the table shows them; an unnamed image is one `<none>` row. A reference filter keeps the names it matches.
  const shown = (i: (typeof images)[number]) => (a.REFERENCE === undefined && !a.filter.some((f) => f.startsWith("reference=")) ? i.names : i.names.filter((n) => referenceFilter(a, n)));
  const rows = images.flatMap((i) => (shown(i).length ? shown(i).map(splitName) : [["<none>", "<none>"]]).map(([repo, tag]) => ({ i, repo: repo!, tag: tag!, size: imageSize(d, i) })));
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
        Containers: containerCountOfImage(d, i.id),
      })),
    table: () => {
      const header = ["REPOSITORY", "TAG", ...(a.digests ? ["DIGEST"] : []), "IMAGE ID", "CREATED", "SIZE"];
      const lines = rows.map((r) => [r.repo, r.tag, ...(a.digests ? [r.i.manifestDigest ?? "<none>"] : []), id(r.i), ago(created(r.i)), humanSize(r.size)]);
      return a.noheading ? formatTable([header, ...lines]).split("\n").slice(1).join("\n") : formatTable([header, ...lines]);
    },
    records: () =>
      rows.map(({ i, repo, tag, size }) => ({
        ID: id(i),
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
        Containers: containerCountOfImage(d, i.id),
        Dangling: i.names.length === 0,
        Labels: new Map(Object.entries(i.config.config?.Labels ?? {})),
        Names: i.names,
      })),
    headers: { ID: "IMAGE ID", Id: "IMAGE ID", CreatedSince: "CREATED" },
  });
  return 0;
}

/** Whether a stored name matches every `reference=` pattern given (and the REFERENCE argument). */
function referenceFilter(a: ImagesArgs, name: string): boolean {
  const patterns = [...a.filter.filter((f) => f.startsWith("reference=")).map((f) => f.slice(10)), ...(a.REFERENCE === undefined ? [] : [a.REFERENCE])];
  return patterns.every((p) => referenceMatches(name, p));
}
