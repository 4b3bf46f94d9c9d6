import type { Example } from "../verb";
import { inspectImage, openStore, paths, requireImage } from "../lib/index";

export const command = "inspect <IMAGE..>";
export const describe = "Show an image's details as JSON";

export const POSITIONALS = { IMAGE: "image names or ids" };
export const EXAMPLES: Example[] = [
  ["$0 image inspect alpine", "Id, Digest, RepoTags, Config, RootFS, Size, History… as JSON"],
  ["$0 image inspect alpine | jq -r '.[0].Config.Cmd'", "One field"],
];

export async function handler(a: { IMAGE: string[] }): Promise<number> {
  const d = await openStore(paths());
  console.log(JSON.stringify(a.IMAGE.map((t) => inspectImage(d, requireImage(d, t))), null, 4));
  return 0;
}
