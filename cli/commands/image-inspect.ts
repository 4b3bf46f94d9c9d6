import type { Argv } from "yargs";
import { inspectImage, openStore, paths, requireImage } from "../lib/index";

export const command = "inspect <IMAGE..>";
export const describe = "Show an image's details as JSON";

export function builder(y: Argv) {
  return y
    .positional("IMAGE", { type: "string", array: true, describe: "image names or ids" })
    .example("$0 image inspect alpine", "Id, Digest, RepoTags, Config, RootFS, Size, History… as JSON")
    .example("$0 image inspect alpine | jq -r '.[0].Config.Cmd'", "One field");
}

export async function handler(a: { IMAGE: string[] }): Promise<number> {
  const d = await openStore(paths());
  console.log(JSON.stringify(a.IMAGE.map((t) => inspectImage(d, requireImage(d, t))), null, 4));
  return 0;
}
