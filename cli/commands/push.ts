import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { openDb } from "../lib/store/db";
import { paths } from "../lib/paths";
import { withContext } from "../lib/errors";
import { interruptible } from "../lib/registry/options";
import { pushImage } from "../lib/registry/push";
import { progressMode } from "../lib/registry/progress";
import { REGISTRY_FLAGS, registryOptions } from "./registry-flags";

export const command = "push <IMAGE> [DESTINATION]";
export const describe = "Push a stored image to a registry";

export const POSITIONALS = { IMAGE: "a stored image's name or id", DESTINATION: "REGISTRY/REPO[:TAG] or docker://… (default: IMAGE's own name)" };
export const OPTIONS = { ...REGISTRY_FLAGS, quiet: { alias: "q", type: "boolean", default: false, describe: "Print no progress" } } as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 push localhost:5000/app:1", "Push an image under its own name"],
  ["$0 push alpine 127.0.0.1:5000/mine/alpine:3.20 --tls-verify=false", "Push under another name, over plain HTTP"],
];

export async function handler(a: Record<string, unknown> & { IMAGE: string; DESTINATION?: string }): Promise<number> {
  const p = paths();
  const d = openDb(p.db);
  const dest = a.DESTINATION?.replace(/^docker:\/\//, "");
  await withContext(`push ${a.IMAGE}`, () =>
    interruptible((signal) =>
      pushImage(d, p, String(a.IMAGE), dest, { ...registryOptions(a), signal, progress: progressMode(Boolean(a.quiet)) }),
    ),
  );
  return 0;
}
