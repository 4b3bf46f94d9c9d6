import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { currentMapping, exportContainer, paths, RlError, withContext, writingArchive } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "export <CONTAINER>";
export const describe = "Write a container's filesystem as a tar archive";

export const POSITIONALS = { CONTAINER: "container name or id" };
export const OPTIONS = {
  output: { alias: "o", type: "string", describe: "File to write, replaced only when complete (default: stdout, which must not be a terminal)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 export -o web.tar web", "The files of container web, owners as in the container, xattrs and holes kept"],
  ["$0 export web | tar -t | head", "Stream it (a reader that stops early ends it quietly)"],
];

export async function handler(a: { CONTAINER: string; output?: string }): Promise<number> {
  if (!a.output && process.stdout.isTTY) throw new RlError("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
  const p = paths();
  const d = await new Session(p).cleaned();
  return writingArchive(() => withContext(`export ${a.CONTAINER}`, () => exportContainer(d, p, a.CONTAINER, a.output, currentMapping())));
}
