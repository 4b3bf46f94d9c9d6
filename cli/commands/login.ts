import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { RlError, withContext } from "../lib/errors";
import { login } from "../lib/registry/login";
import { REGISTRY_FLAGS, tlsVerifyOf } from "./registry-flags";

export const command = "login <REGISTRY>";
export const describe = "Log in to a registry (credentials are checked, then kept in auth.json)";

export const POSITIONALS = { REGISTRY: "host[:port] of the registry" };
export const OPTIONS = {
  username: { alias: "u", type: "string", describe: "User name (asked for on a terminal when missing)" },
  password: { alias: "p", type: "string", describe: "Password (visible to other users in ps: prefer --password-stdin, or the prompt)" },
  "password-stdin": { type: "boolean", default: false, describe: "Read the password from stdin" },
  "tls-verify": REGISTRY_FLAGS["tls-verify"],
  authfile: { type: "string", describe: "File to keep credentials in (default: $REGISTRY_AUTH_FILE or $XDG_RUNTIME_DIR/containers/auth.json)" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 login localhost:5000", "Log in, asked for the user name and the password (not shown as typed)"],
  ["$0 login -u me localhost:5000 --password-stdin < pass.txt", "Log in with a password from a file"],
  ["$0 login -u me -p secret --tls-verify=false 127.0.0.1:5000", "Log in to a plain-HTTP registry"],
];

export async function handler(a: Record<string, unknown> & { REGISTRY: string }): Promise<number> {
  // As podman: what is missing is asked for on a terminal; elsewhere it must be given.
  const terminal = Boolean(process.stdin.isTTY) && !a["password-stdin"];
  const { promptLine } = terminal ? await import("../lib/prompt") : { promptLine: undefined };
  let username = a.username as string | undefined;
  if (!username && promptLine) username = (await promptLine("Username: ", { echo: true })).trim();
  if (!username) throw new RlError("a user name is required: use -u USER");
  let password = a.password as string | undefined;
  if (a["password-stdin"]) {
    if (password !== undefined) throw new RlError("use either --password or --password-stdin");
    password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  } else if (password === undefined && promptLine) password = await promptLine("Password: ", { echo: false });
  if (!password) throw new RlError(`a password is required: use -p PASSWORD or --password-stdin${terminal ? "" : " (or run rl login on a terminal to be asked)"}`);
  await withContext(`log in to ${a.REGISTRY}`, () => login(String(a.REGISTRY), { username, password: password! }, { tlsVerify: tlsVerifyOf(a), authfile: a.authfile as string | undefined }));
  console.log("Login Succeeded!");
  return 0;
}
