import type { Example } from "../verb";
import { currentMapping } from "../lib/security/idmap";
import { Session } from "../lib/engine/session";
import { paths } from "../lib/paths";
import { withContext } from "../lib/errors";
import { imageByPolicy, parsePullPolicy, PULL_POLICIES } from "../lib/registry/pull-policy";
import { imageOptions, PULL_FLAGS } from "./registry-flags";

export const command = "pull <IMAGE>";
export const describe = "Pull an image from a registry into the store";

export const POSITIONALS = { IMAGE: "[REGISTRY/]REPO[:TAG][@DIGEST], or docker://…; short names use unqualified-search-registries (else docker.io)" };
export const OPTIONS = {
  ...PULL_FLAGS,
  policy: { type: "string", default: "always", choices: [...PULL_POLICIES], describe: "Pull always, only when missing from the store, never, or when newer (the registry's digest differs from the stored image's; the stored one when the registry cannot be asked)" },
} as const;
export const EXAMPLES: Example[] = [
  ["$0 pull localhost:5000/alpine:3.20", "Pull a tag"],
  ["$0 pull --arch arm64 localhost:5000/alpine@sha256:…", "Pull one platform of a pinned multi-platform image"],
  ["$0 pull --tls-verify=false --creds me:secret 127.0.0.1:5000/app", "Pull over plain HTTP with credentials"],
  ["$0 pull --policy newer localhost:5000/app:latest", "Pull only when the registry has another manifest than the stored one"],
];

export async function handler(a: Record<string, unknown> & { IMAGE: string }): Promise<number> {
  const o = { ...imageOptions(a), pull: parsePullPolicy(String(a.policy ?? "always"), "--policy") };
  const p = paths();
  const d = await new Session(p).cleaned();
  const img = await withContext(`pull ${a.IMAGE}`, () => imageByPolicy(d, p, String(a.IMAGE), currentMapping(), o));
  console.log(img.id.slice("sha256:".length));
  return 0;
}
