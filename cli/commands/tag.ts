import type { Argv } from "yargs";
import { openStore, paths, tagImage } from "../lib/index";

export const command = "tag <IMAGE> <NAME..>";
export const describe = "Give a stored image more names";

export function builder(y: Argv) {
  return y
    .positional("IMAGE", { type: "string", describe: "image name or id" })
    .positional("NAME", { type: "string", array: true, describe: "new names, [REGISTRY/]REPOSITORY[:TAG]" })
    .example("$0 tag alpine myalpine:v1", "Now also known as docker.io/library/myalpine:v1")
    .example("$0 tag 3f1a localhost/app:dev", "Tag by id prefix");
}

export async function handler(a: { IMAGE: string; NAME: string[] }): Promise<number> {
  const p = paths();
  const d = await openStore(p);
  for (const n of a.NAME) tagImage(d, p, a.IMAGE, n);
  return 0;
}
