import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { pauseContainers } from "../lib/runtime/pause-container";
import { Session } from "../lib/engine/session";
import { namesOrAll } from "./names-or-all";

export const command = "unpause [CONTAINER..]";
export const describe = "Resume the processes of paused containers";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = { all: { alias: "a", type: "boolean", default: false, describe: "Resume every paused container" } } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [["$0 unpause web", "Resume every process of web where it stopped"]];

export async function handler(a: { CONTAINER?: string[]; all: boolean }): Promise<number> {
  const names = namesOrAll("unpause", a);
  const s = new Session();
  await pauseContainers(await s.swept(), s.p, names, a.all, false);
  return 0;
}
