import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, resetStore, RlError } from "../lib/index";

export const command = "reset";
export const describe = "Remove all images, containers and other state rl keeps";

export const OPTIONS = {
  force: { alias: "f", type: "boolean", default: false, describe: "Do not ask for confirmation (required without a terminal)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [["$0 system reset -f", "Start over: empty the data and runtime dirs"]];

async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  for await (const line of console) return /^y(es)?$/i.test(line.trim());
  return false;
}

export async function handler(a: { force: boolean }): Promise<number> {
  const p = paths();
  if (!a.force) {
    if (!process.stdin.isTTY) throw new RlError("system reset removes everything: confirm with -f when not on a terminal");
    const ok = await confirm(`WARNING! This removes all containers, images and layers in ${p.data} and ${p.runtime}.\nAre you sure you want to continue? [y/N] `);
    if (!ok) return 0;
  }
  await resetStore(p);
  return 0;
}
