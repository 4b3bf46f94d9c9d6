import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { createVolume, keyValues, paths } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "create [NAME]";
export const describe = "Create a volume (without a name: a random 64-hex one); prints its name";

export const POSITIONALS = { NAME: "the volume's name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)" };
export const OPTIONS = {
  label: { alias: "l", type: "string", array: true, default: [], describe: "Set a label: KEY=VALUE (repeatable)" },
  opt: { alias: "o", type: "string", array: true, default: [], describe: "Set a driver option: nocopy or o=nocopy (never filled from an image), uid=N, gid=N (owner of its directory)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 volume create pgdata", "A volume named pgdata"],
  ["$0 volume create --label app=db --opt uid=999 pgdata", "With a label, owned by uid 999 in the containers"],
];

export async function handler(a: { NAME?: string; label: string[]; opt: string[] }): Promise<number> {
  const p = paths();
  const d = await new Session(p).cleaned();
  const labels = keyValues(a.label, "label");
  const options = keyValues(a.opt, "option");
  console.log(await createVolume(d, p, { name: a.NAME, labels, options }));
  return 0;
}
