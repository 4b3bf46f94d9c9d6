import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { paths, requireContainer } from "../lib/index";
import { attachRunning } from "../lib/engine/attach-running";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../lib/runtime/detach-keys";
import { Session } from "../lib/engine/session";

export const command = "attach <CONTAINER>";
export const describe = "Attach to a running container: its output, and your input if it was made with -i, until it exits or you detach (Ctrl-P Ctrl-Q)";

export const POSITIONALS = { CONTAINER: "a container name or id" };
export const OPTIONS = {
  "detach-keys": { type: "string", default: DEFAULT_DETACH_KEYS, describe: "The keys that detach, leaving it running: ctrl-X or characters, joined by commas (\"\": none)" },
  "no-stdin": { type: "boolean", default: false, describe: "Do not send your input to it" },
  "sig-proxy": { type: "boolean", default: true, describe: "Send the signals rl receives on to it (without -t; with -t, Ctrl-C goes to it through its terminal)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 attach web", "Follow web's output until it ends; Ctrl-P Ctrl-Q leaves it running"],
  ["$0 run -dit --name box alpine sh && $0 attach box", "Come back to a shell started in the background"],
];

export async function handler(a: { CONTAINER: string; "detach-keys": string; "no-stdin": boolean; "sig-proxy": boolean }): Promise<number> {
  const detachKeys = parseDetachKeys(a["detach-keys"]);
  const p = paths();
  const d = await new Session(p).swept();
  return attachRunning(p, requireContainer(d, a.CONTAINER), { stdin: !a["no-stdin"], detachKeys, sigProxy: a["sig-proxy"] });
}
