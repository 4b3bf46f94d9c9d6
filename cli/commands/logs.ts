import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, requireContainer } from "../lib/index";
import { parseLogTime, printLogs } from "../lib/engine/container-logs";
import { RlError } from "../lib/errors";
import { CLOSED_OUTPUT_EXIT, isClosedOutput } from "../lib/output-file";
import { Session } from "../lib/engine/session";

export const command = "logs <CONTAINER>";
export const describe = "Print the output of a detached container";

export const POSITIONALS = { CONTAINER: "container name or id" };
export const OPTIONS = {
  follow: { alias: "f", type: "boolean", default: false, describe: "Keep printing new output until the container ends" },
  tail: { alias: "n", type: "number", default: -1, describe: "Only the last N lines (-1: all)" },
  since: { type: "string", describe: "Only output since TIME: RFC 3339, Unix seconds, or a duration before now (10m)" },
  until: { type: "string", describe: "Only output before TIME (as --since)" },
  timestamps: { alias: "t", type: "boolean", default: false, describe: "Start each line with the time it was written (RFC 3339, nanoseconds)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 logs web", "Everything web wrote to stdout and stderr (each to rl's own)"],
  ["$0 logs -f --tail 10 web", "The last 10 lines, then new output as it comes"],
  ["$0 logs --since 5m -t web", "The last five minutes, with times"],
];

export async function handler(a: { CONTAINER: string; follow: boolean; tail: number; since?: string; until?: string; timestamps: boolean }): Promise<number> {
  if (!Number.isInteger(a.tail) || a.tail < -1) throw new RlError(`invalid --tail ${a.tail}: use a number of lines, or -1 for all`);
  const since = a.since === undefined ? undefined : parseLogTime(a.since);
  const until = a.until === undefined ? undefined : parseLogTime(a.until);
  const p = paths();
  const d = await new Session(p).swept();
  try {
    await printLogs(d, p, requireContainer(d, a.CONTAINER), { follow: a.follow, tail: a.tail < 0 ? undefined : a.tail, since, until, timestamps: a.timestamps });
  } catch (err) {
    // `rl logs web | head`: the reader has what it wanted.
    if (isClosedOutput(err)) return CLOSED_OUTPUT_EXIT;
    throw err;
  }
  return 0;
}
