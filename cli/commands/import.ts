import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { currentMapping, importTarball, paths, withContext } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "import <TARBALL> [REFERENCE]";
export const describe = "Make a one-layer image from a root filesystem tarball (- for stdin)";

export const POSITIONALS = { TARBALL: "tar file (plain, gzip or zstd), or - for stdin", REFERENCE: "name for the new image" };
export const OPTIONS = {
  change: { alias: "c", type: "string", array: true, default: [], describe: "Dockerfile instruction for the config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 import alpine-minirootfs.tar.gz myalpine", "A new image named docker.io/library/myalpine:latest"],
  ["$0 export web | $0 import --change 'CMD [\"/bin/sh\"]' - snapshot", "Snapshot a container's filesystem"],
];

export async function handler(a: { TARBALL: string; REFERENCE?: string; change: string[] }): Promise<number> {
  const p = paths();
  const d = await new Session(p).cleaned();
  const file = a.TARBALL === "-" ? undefined : a.TARBALL;
  const img = await withContext(`import ${a.TARBALL}`, () => importTarball(d, p, file, a.REFERENCE, a.change, currentMapping()));
  console.log(img.id.slice(7));
  return 0;
}
