import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, requireContainer } from "../lib/index";
import { untilProcessEnds, untilRecorded } from "../lib/engine/container-end";
import { RlError } from "../lib/errors";
import { Session } from "../lib/engine/session";

export const command = "wait <CONTAINER..>";
export const describe = "Wait until containers stop, and print their exit codes";

export const POSITIONALS = { CONTAINER: "container names or ids" };
export const OPTIONS = {
  ignore: { type: "boolean", default: false, describe: "Ignore containers that do not exist (print -1 for them)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 wait web", "Block until web ends, then print its exit code"],
  ["code=$($0 wait job) && echo \"job exited with $code\"", "In a script"],
];

export async function handler(a: { CONTAINER: string[]; ignore: boolean }): Promise<number> {
  const p = paths();
  const d = await new Session(p).swept();
  const found = a.CONTAINER.map((name) => {
    try {
      return requireContainer(d, name);
    } catch (err) {
      if (a.ignore) return undefined;
      throw err;
    }
  });
  // In the order given, as podman prints them.
  for (const [i, c] of found.entries()) {
    if (!c) {
      console.log(-1);
      continue;
    }
    await untilProcessEnds(c, Infinity);
    // Its end as recorded, not as read from its monitor's exit file: the next command finds it exited.
    const row = await untilRecorded(d, p, c.id);
    if (!row) throw new RlError(`container ${a.CONTAINER[i]} was removed before its exit code could be read`);
    console.log(row.exit_code ?? 0);
  }
  return 0;
}
