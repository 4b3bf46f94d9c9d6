import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, RlError, saveImages, withContext, writingArchive, type ArchiveFormat } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "save <IMAGE..>";
export const describe = "Write images to an archive (docker-archive or oci-archive)";

export const POSITIONALS = { IMAGE: "image names or ids" };
export const OPTIONS = {
  output: { alias: "o", type: "string", describe: "File to write, replaced only when complete (default: stdout, which must not be a terminal)" },
  format: { type: "string", choices: ["docker-archive", "oci-archive"], default: "docker-archive", describe: "Archive format" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 save -o alpine.tar alpine", "docker-archive, loadable by rl, podman and docker"],
  ["$0 save --format oci-archive -o a.tar alpine busybox", "OCI layout tarball with the original manifests (digests kept)"],
];

export async function handler(a: { IMAGE: string[]; output?: string; format: ArchiveFormat }): Promise<number> {
  if (!a.output && process.stdout.isTTY) throw new RlError("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
  const p = paths();
  const d = await new Session(p).cleaned();
  return writingArchive(() => withContext(`save ${a.IMAGE.join(" ")}`, () => saveImages(d, p, a.IMAGE, a.format, a.output)));
}
