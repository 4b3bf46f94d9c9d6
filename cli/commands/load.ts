import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { currentMapping, loadArchive, paths, RlError, withContext } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "load";
export const describe = "Load images from a docker-archive or oci-archive (plain, gzip or zstd)";

export const OPTIONS = {
  input: { alias: "i", type: "string", describe: "Archive to read (default: stdin)" },
  quiet: { alias: "q", type: "boolean", default: false, describe: "Accepted for podman compatibility" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 load -i alpine.tar", "Load the images of a `podman save` or `docker save` archive"],
  ["gzip -dc app.tar.gz | $0 load", "Read the archive from stdin"],
  ["skopeo copy oci:layout:tag oci-archive:x.tar && $0 load -i x.tar", "Load an oci-archive; digests are kept"],
];

export async function handler(a: { input?: string }): Promise<number> {
  if (!a.input && process.stdin.isTTY) throw new RlError("no archive to load: use -i FILE, or pipe one to stdin");
  const p = paths();
  const d = await new Session(p).cleaned();
  const names = await withContext(`load ${a.input ?? "stdin"}`, () => loadArchive(d, p, a.input, currentMapping()));
  for (const n of names) console.log(`Loaded image: ${n}`);
  return 0;
}
