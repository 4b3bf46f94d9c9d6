import { existsSync, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { getCACertificates } from "node:tls";

/** TLS settings for one registry host from certs.d directories, read as podman does. */
export interface HostTls {
  ca: string[];
  cert?: string;
  key?: string;
}

/** `RL_CERTS_DIR` (tests) replaces the default list: the user's, then containers', then docker's certs.d. */
export function certsDirs(env = process.env): string[] {
  if (env.RL_CERTS_DIR) return [env.RL_CERTS_DIR];
  const config = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return [join(config, "containers/certs.d"), "/etc/containers/certs.d", "/etc/docker/certs.d"];
}

/** `*.crt` are CAs; `*.cert` with the `*.key` of the same name is a client certificate. */
export function hostTls(host: string, env = process.env): HostTls {
  const out: HostTls = { ca: [] };
  for (const base of certsDirs(env)) {
    const dir = join(base, host);
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) {
      if (f.endsWith(".crt")) out.ca.push(readFileSync(join(dir, f), "utf8"));
      const key = join(dir, f.replace(/\.cert$/, ".key"));
      if (f.endsWith(".cert") && !out.cert && existsSync(key)) {
        out.cert = readFileSync(join(dir, f), "utf8");
        out.key = readFileSync(key, "utf8");
      }
    }
  }
  return out;
}

/**
 * The CAs to verify a host with when certs.d has some for it: fetch's `tls.ca` replaces the roots it trusts
 * by default (Bun's bundled ones and NODE_EXTRA_CA_CERTS), so those come first and certs.d's are added, as
 * podman adds them to the system's pool.
 */
export function withDefaultCas(extra: string[]): string[] {
  return [...getCACertificates("default"), ...extra];
}
