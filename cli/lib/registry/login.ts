import { RlError } from "../errors";
import { checkAuthFile, removeCredentials, storeCredentials, writableAuthFile, type Credentials } from "./auth-file";
import { endpointsFor } from "./endpoints";
import { clientFor, type TlsVerify } from "./options";
import { loadRegistriesConf } from "./registries-conf";

/** The registry part of what `login`/`logout` were given: host[:port] or host[:port]/repo, without a scheme. */
export function loginKey(text: string): string {
  const key = text.replace(/^(docker|https?):\/\//, "").replace(/\/+$/, "");
  if (!key) throw new RlError("name a registry, e.g. rl login localhost:5000");
  return key === "index.docker.io" ? "docker.io" : key;
}

/** Check the credentials against the registry's /v2/ endpoint, then store them (podman's auth.json). */
export async function login(registryText: string, creds: Credentials, o: { tlsVerify?: TlsVerify; authfile?: string }): Promise<string> {
  const key = loginKey(registryText);
  const host = key.split("/")[0]!;
  const [e] = endpointsFor({ registry: host, repository: key.split("/").slice(1).join("/") || "x" }, loadRegistriesConf(), { tlsVerify: o.tlsVerify, forPush: true });
  const c = clientFor({ ...e!, repository: "" }, "pull", { creds: `${creds.username}:${creds.password}`, tlsVerify: o.tlsVerify });
  const res = await c.request("GET", "", { accept: [401] });
  if (res.status === 401) throw new RlError(`${host}: unauthorized: the registry refused these credentials`);
  const file = writableAuthFile(o.authfile);
  storeCredentials(file, key, creds);
  return file;
}

export function logout(registryText: string | "all", o: { authfile?: string }): string {
  checkAuthFile(o.authfile);
  const file = writableAuthFile(o.authfile);
  const key = registryText === "all" ? "all" : loginKey(registryText);
  if (!removeCredentials(file, key) && key !== "all") throw new RlError(`not logged into ${key} (in ${file})`);
  return file;
}
