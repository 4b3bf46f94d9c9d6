import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { RlError } from "../errors";

/** One `[[registry]]` table of registries.conf v2 (containers-registries.conf(5)). */
export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: { location: string; insecure: boolean }[];
}

export interface RegistriesConf {
  file?: string;
  unqualifiedSearch: string[];
  registries: RegistryEntry[];
}

/**
 * Where podman reads it: `RL_REGISTRIES_CONF` (that file alone), else the user's file
 * (`$XDG_CONFIG_HOME/containers/registries.conf`) when it exists, else the system's. `RL_SYSTEM_REGISTRIES_CONF`
 * stands in for /etc/containers/registries.conf (tests).
 */
export function registriesConfPath(env = process.env): string | undefined {
  if (env.RL_REGISTRIES_CONF) return env.RL_REGISTRIES_CONF;
  const user = join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config"), "containers/registries.conf");
  return [user, env.RL_SYSTEM_REGISTRIES_CONF || "/etc/containers/registries.conf"].find((f) => existsSync(f));
}

export function loadRegistriesConf(env = process.env): RegistriesConf {
  const file = registriesConfPath(env);
  if (!file || !existsSync(file)) return { unqualifiedSearch: [], registries: [] };
  let doc: Record<string, unknown>;
  try {
    doc = Bun.TOML.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new RlError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return parseRegistriesConf(doc, file);
}

export function parseRegistriesConf(doc: Record<string, unknown>, file?: string): RegistriesConf {
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) throw new RlError(`${file ?? "registries.conf"}: ${what} must be a list of strings`);
    return v as string[];
  };
  const tables = (doc.registry ?? []) as Record<string, unknown>[];
  if (!Array.isArray(tables)) throw new RlError(`${file ?? "registries.conf"}: [[registry]] must be an array of tables`);
  const registries = tables.map((t): RegistryEntry => {
    const location = String(t.location ?? "");
    const prefix = String(t.prefix ?? location);
    if (!prefix) throw new RlError(`${file ?? "registries.conf"}: a [[registry]] needs a location or a prefix`);
    const mirrors = ((t.mirror ?? []) as Record<string, unknown>[]).map((m) => ({ location: String(m.location ?? ""), insecure: Boolean(m.insecure) }));
    return { prefix, location: location || prefix, insecure: Boolean(t.insecure), blocked: Boolean(t.blocked), mirrors };
  });
  return { file, unqualifiedSearch: strings(doc["unqualified-search-registries"], "unqualified-search-registries"), registries };
}

/** The [[registry]] whose prefix matches `name` (registry/repo) best, as containers/image does. */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const r of conf.registries) {
    const p = r.prefix;
    const matches = p.startsWith("*.") ? name.split("/")[0]!.endsWith(p.slice(1)) : name === p || name.startsWith(`${p}/`) || name.startsWith(`${p}:`) || name.startsWith(`${p}@`);
    if (matches && (!best || p.length > best.prefix.length)) best = r;
  }
  return best;
}
