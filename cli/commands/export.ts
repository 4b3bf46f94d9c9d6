import type { Argv } from "yargs";
import { currentMapping, exportContainer, openStore, paths, RlError, withContext } from "../lib/index";

export const command = "export <CONTAINER>";
export const describe = "Write a container's filesystem as a tar archive";

export function builder(y: Argv) {
  return y
    .positional("CONTAINER", { type: "string", describe: "container name or id" })
    .option("output", { alias: "o", type: "string", describe: "File to write (default: stdout, which must not be a terminal)" })
    .example("$0 export -o web.tar web", "The files of container web, owners as in the container")
    .example("$0 export web | tar -t | head", "Stream it");
}

export async function handler(a: { CONTAINER: string; output?: string }): Promise<number> {
  if (!a.output && process.stdout.isTTY) throw new RlError("refusing to write an archive to a terminal: use -o FILE or redirect stdout");
  const p = paths();
  const d = await openStore(p);
  await withContext(`export ${a.CONTAINER}`, () => exportContainer(d, p, a.CONTAINER, a.output, currentMapping()));
  return 0;
}
