import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { constants as osConstants, homedir } from "node:os";
import { dirname, join } from "node:path";
import { RlError } from "../errors";
import { atomicWriteFile } from "../atomic-write";
import { userRuntimeDir } from "../runtime-dir";
import { strerror } from "../sys/errno";

export interface Credentials {
  username: string;
  password: string;
}

type AuthDoc = { auths?: Record<string, { auth?: string }> } & Record<string, unknown>;

/** The file `rl login` writes: --authfile, $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json (podman's). */
export function writableAuthFile(authfile?: string, env = process.env): string {
  if (authfile) return authfile;
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  return join(userRuntimeDir(env), "containers/auth.json");
}

/** Files credentials are read from, first match wins: the writable one, then ~/.config/containers, then docker's. */
export function readableAuthFiles(authfile?: string, env = process.env): string[] {
  if (authfile) return [authfile];
  const home = env.HOME || homedir();
  return [writableAuthFile(undefined, env), join(env.XDG_CONFIG_HOME || join(home, ".config"), "containers/auth.json"), join(home, ".docker/config.json")];
}

/** An fs failure in a user's words: "Is a directory (EISDIR)", without the path of a temp file. */
function fsWords(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const errno = code ? (osConstants.errno as Record<string, number>)[code] : undefined;
  return errno ? strerror(errno) : (err as Error).message;
}

/** --authfile names a file that must exist (podman: "checking authfile: stat …"), except for rl login, which creates it. */
export function checkAuthFile(authfile: string | undefined): void {
  if (authfile && !existsSync(authfile)) throw new RlError(`the credentials file ${authfile} given with --authfile does not exist`);
}

function readDoc(file: string): AuthDoc {
  if (!existsSync(file)) return {};
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new RlError(`cannot read credentials from ${file}: ${fsWords(err)}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new RlError(`cannot read credentials from ${file}: it is not valid JSON`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new RlError(`cannot read credentials from ${file}: it is not a JSON object`);
  return doc as AuthDoc;
}

/** docker writes keys like "https://index.docker.io/v1/"; podman writes "host[:port][/repo]". */
function normalizeKey(key: string): string {
  let k = key.replace(/^https?:\/\//, "");
  if (key !== k) k = k.split("/")[0]!; // a URL key names a whole registry
  return k === "index.docker.io" || k === "registry-1.docker.io" ? "docker.io" : k.replace(/\/+$/, "");
}

function decodeAuth(auth: string, where: string): Credentials {
  const text = Buffer.from(auth, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) throw new RlError(`the credentials for ${where} are not base64 of user:password`);
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** Credentials for `registry/repository`: the most specific key in the first file that has one. */
export function findCredentials(registry: string, repository: string, authfile?: string, env = process.env): Credentials | undefined {
  const parts = repository.split("/");
  const wanted = [...parts.map((_, i) => `${registry}/${parts.slice(0, parts.length - i).join("/")}`), registry];
  for (const file of readableAuthFiles(authfile, env)) {
    const auths = readDoc(file).auths ?? {};
    const byKey = new Map(Object.entries(auths).map(([k, v]) => [normalizeKey(k), v] as const));
    for (const key of wanted) {
      const entry = byKey.get(key);
      if (entry?.auth) return decodeAuth(entry.auth, `${key} in ${file}`);
    }
  }
  return undefined;
}

function writeDoc(file: string, doc: AuthDoc): void {
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    atomicWriteFile(file, `${JSON.stringify(doc, null, "\t")}\n`);
  } catch (err) {
    throw new RlError(`cannot write credentials to ${file}: ${fsWords(err)}`);
  }
}

/** Record credentials for `key` (a registry, or registry/repo), replacing the old entry. */
export function storeCredentials(file: string, key: string, c: Credentials): void {
  const doc = readDoc(file);
  doc.auths = { ...(doc.auths ?? {}), [key]: { auth: Buffer.from(`${c.username}:${c.password}`).toString("base64") } };
  writeDoc(file, doc);
}

/** Remove `key`'s entry (or every entry); false when there was none. */
export function removeCredentials(file: string, key: string | "all"): boolean {
  const doc = readDoc(file);
  const auths = doc.auths ?? {};
  if (key === "all") {
    const had = Object.keys(auths).length > 0;
    doc.auths = {};
    if (existsSync(file)) writeDoc(file, doc);
    return had;
  }
  const match = Object.keys(auths).filter((k) => normalizeKey(k) === key);
  if (!match.length) return false;
  for (const k of match) delete auths[k];
  doc.auths = auths;
  writeDoc(file, doc);
  return true;
}
