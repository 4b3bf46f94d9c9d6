import type { Example } from "../verb";
import { paths, tagImage } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "tag <IMAGE> <NAME..>";
export const describe = "Give a stored image more names";

export const POSITIONALS = { IMAGE: "image name or id", NAME: "new names, [REGISTRY/]REPOSITORY[:TAG]" };
export const EXAMPLES: Example[] = [
  ["$0 tag alpine myalpine:v1", "Now also known as docker.io/library/myalpine:v1"],
  ["$0 tag 3f1a localhost/app:dev", "Tag by id prefix"],
];

export async function handler(a: { IMAGE: string; NAME: string[] }): Promise<number> {
  const p = paths();
  const d = await new Session(p).cleaned();
  for (const n of a.NAME) tagImage(d, p, a.IMAGE, n);
  return 0;
}
