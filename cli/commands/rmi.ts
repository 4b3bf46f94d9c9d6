import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { collectGarbage, paths, removeImage, RlError, spendReserveWhenFull } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "rmi <IMAGE..>";
export const describe = "Remove images (a name untags; the image goes when no name is left)";

export const POSITIONALS = { IMAGE: "image names or ids" };
export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Also remove containers using the image, and images with several names given by id" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 rmi alpine", "Untag alpine; delete the image if that was its last name"],
  ["$0 rmi -f 3f1a", "Delete the image with id 3f1a…, its names and the containers using it"],
];

export async function handler(a: { IMAGE: string[]; force: boolean }): Promise<number> {
  const p = paths();
  spendReserveWhenFull();
  const d = await new Session(p).cleaned();
  let code = 0;
  try {
    for (const t of a.IMAGE) {
      try {
        for (const e of await removeImage(d, p, t, a.force)) console.log("untagged" in e ? `Untagged: ${e.untagged}` : `Deleted: ${e.deleted.slice(7)}`);
      } catch (err) {
        if (!(err instanceof RlError) || err.exitCode !== 1) throw err;
        console.error(`rl: ${err.message}`);
        code = 1;
      }
    }
  } finally {
    await collectGarbage(d, p);
  }
  return code;
}
