import type { Argv } from "yargs";
import { openStore, paths, RlError, saveImages, withContext, type ArchiveFormat } from "../lib/index";

export const command = "save <IMAGE..>";
export const describe = "Write images to an archive (docker-archive or oci-archive)";

export function builder(y: Argv) {
  return y
    .positional("IMAGE", { type: "string", array: true, describe: "image names or ids" })
    .option("output", { alias: "o", type: "string", describe: "File to write (default: stdout, which must not be a terminal)" })
    .option("format", { type: "string", choices: ["docker-archive", "oci-archive"], default: "docker-archive", describe: "Archive format" })
    .example("$0 save -o alpine.tar alpine", "docker-archive, loadable by rl, podman and docker")
    .example("$0 save --format oci-archive -o a.tar alpine busybox", "OCI layout tarball with the original manifests (digests kept)");
}

export async function handler(a: { IMAGE: string[]; output?: string; format: ArchiveFormat }): Promise<number> {
  if (!a.output && process.stdout.isTTY) throw new RlError("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
  const p = paths();
  const d = await openStore(p);
  await withContext(`save ${a.IMAGE.join(" ")}`, () => saveImages(d, p, a.IMAGE, a.format, a.output));
  return 0;
}
