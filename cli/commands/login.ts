import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { RlError, withContext } from "../lib/errors";
import { login } from "../lib/registry/login";

export const command = "login <REGISTRY>";
export const describe = "Log in to a registry (credentials are checked, then kept in auth.json)";

export const POSITIONALS = { REGISTRY: "host[:port] of the registry" };
export const OPTIONS = {
  username: { alias: "u", type: "string", describe: "User name" },
  password: { alias: "p", type: "string", describe: "Password (visible to other users in ps: prefer --password-stdin)" },
  "password-stdin": { type: "boolean", default: false, describe: "Read the password from stdin" },
  "tls-verify": { type: "boolean", describe: "Require HTTPS and verify certificates" },
  authfile: { type: "string", describe: "File to keep credentials in (default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 login -u me localhost:5000 --password-stdin < pass.txt", "Log in with a password from a file"],
  ["$0 login -u me -p secret --tls-verify=false 127.0.0.1:5000", "Log in to a plain-HTTP registry"],
];

export async function handler(a: Record<string, unknown> & { REGISTRY: string }): Promise<number> {
  const username = a.username as string | undefined;
  if (!username) throw new RlError("a user name is required: use -u USER");
  let password = a.password as string | undefined;
  if (a["password-stdin"]) {
    if (password !== undefined) throw new RlError("use either --password or --password-stdin");
    password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  }
  if (!password) throw new RlError("a password is required: use -p PASSWORD or --password-stdin");
  await withContext(`log in to ${a.REGISTRY}`, () => login(String(a.REGISTRY), { username, password: password! }, { tlsVerify: a["tls-verify"] as boolean | undefined, authfile: a.authfile as string | undefined }));
  console.log("Login Succeeded!");
  return 0;
}
