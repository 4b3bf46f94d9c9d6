import { RlError } from "../errors";
import { findCredentials, type Credentials } from "./auth-file";
import { RegistryClient } from "./client";
import type { Endpoint } from "./endpoints";

/**
 * --tls-verify, three ways as in podman: unset (undefined) lets registries.conf's `insecure` decide; true
 * requires verified HTTPS even for a registry marked insecure; false allows plain HTTP and unverified TLS.
 */
export type TlsVerify = boolean | undefined;

/** Options every registry command takes (--tls-verify, --creds, --authfile). */
export interface RegistryOptions {
  tlsVerify?: TlsVerify;
  /** USER[:PASS] from --creds. */
  creds?: string;
  authfile?: string;
  signal?: AbortSignal;
}

export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new RlError("--creds must be USERNAME:PASSWORD");
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** A client for an endpoint, with --creds or the stored credentials of that host. */
export function clientFor(e: Endpoint, actions: string, o: RegistryOptions): RegistryClient {
  const credentials = o.creds ? parseCreds(o.creds) : findCredentials(e.host, e.repository, o.authfile);
  return new RegistryClient({ host: e.host, repository: e.repository, actions, insecure: e.insecure, credentials, signal: o.signal });
}

/** Run `fn` with an AbortSignal that SIGINT/SIGTERM fire, so downloads stop and clean up before rl exits. */
export async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let caught: NodeJS.Signals | undefined;
  const on = (s: NodeJS.Signals) => () => {
    caught = s;
    ctl.abort();
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, on(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    const result = await fn(ctl.signal);
    if (caught) throw new RlError(`interrupted by ${caught}`, caught === "SIGINT" ? 130 : 143);
    return result;
  } catch (err) {
    if (caught) throw new RlError(`interrupted by ${caught}`, caught === "SIGINT" ? 130 : 143);
    throw err;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}
