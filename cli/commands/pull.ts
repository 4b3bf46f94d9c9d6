import type { Example } from "../verb";
import { currentMapping } from "../lib/security/idmap";
import { openDb } from "../lib/store/db";
import { paths } from "../lib/paths";
import { withContext } from "../lib/errors";
import { wantedPlatform } from "../lib/image/platform";
import { interruptible } from "../lib/registry/options";
import { pullImage } from "../lib/registry/pull";
import { progressMode } from "../lib/registry/progress";
import { imageOptions, PULL_FLAGS } from "./registry-flags";

export const command = "pull <IMAGE>";
export const describe = "Pull an image from a registry into the store";

export const POSITIONALS = { IMAGE: "[REGISTRY/]REPO[:TAG][@DIGEST], or docker://…; short names use unqualified-search-registries (else docker.io)" };
export const OPTIONS = PULL_FLAGS;
export const EXAMPLES: Example[] = [
  ["$0 pull localhost:5000/alpine:3.20", "Pull a tag"],
  ["$0 pull --arch arm64 localhost:5000/alpine@sha256:…", "Pull one platform of a pinned multi-platform image"],
  ["$0 pull --tls-verify=false --creds me:secret 127.0.0.1:5000/app", "Pull over plain HTTP with credentials"],
];

export async function handler(a: Record<string, unknown> & { IMAGE: string }): Promise<number> {
  const o = imageOptions(a);
  const p = paths();
  const d = openDb(p.db);
  const img = await withContext(`pull ${a.IMAGE}`, () =>
    interruptible((signal) => pullImage(d, p, String(a.IMAGE), currentMapping(), { ...o, signal, platform: wantedPlatform(o), progress: progressMode(Boolean(o.quiet)) })),
  );
  console.log(img.id.slice("sha256:".length));
  return 0;
}
