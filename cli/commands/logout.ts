import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { RlError, wrap } from "../lib/errors";
import { logout } from "../lib/registry/login";

export const command = "logout [REGISTRY]";
export const describe = "Remove a registry's credentials from auth.json";

export const POSITIONALS = { REGISTRY: "host[:port] of the registry" };
export const OPTIONS = {
  all: { alias: "a", type: "boolean", default: false, describe: "Remove the credentials of every registry" },
  authfile: { type: "string", describe: "Credentials file (default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 logout localhost:5000", "Forget one registry's credentials"],
  ["$0 logout --all", "Forget them all"],
];

export async function handler(a: { REGISTRY?: string; all: boolean; authfile?: string }): Promise<number> {
  if (!a.all && !a.REGISTRY) throw new RlError("name a registry, or use --all");
  if (a.all && a.REGISTRY) throw new RlError("use either a registry or --all");
  try {
    logout(a.all ? "all" : a.REGISTRY!, { authfile: a.authfile });
  } catch (err) {
    throw wrap(`log out of ${a.all ? "all registries" : a.REGISTRY}`, err);
  }
  console.log(a.all ? "Removed login credentials for all registries" : `Removed login credentials for ${a.REGISTRY}`);
  return 0;
}
