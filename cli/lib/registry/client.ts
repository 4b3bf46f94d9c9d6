import { RlError } from "../errors";
import { debug } from "../log";
import type { Credentials } from "./auth-file";
import { hostTls, withDefaultCas } from "./certs";

/** How to reach one registry host and act on one repository there. */
export interface ClientOptions {
  /** host[:port] as written in references ([::1]:5000 for IPv6). */
  host: string;
  repository: string;
  /** Scope actions for tokens: "pull" or "pull,push". */
  actions: string;
  /** Plain HTTP allowed and TLS not verified (registries.conf insecure, --tls-verify=false). */
  insecure: boolean;
  credentials?: Credentials;
  signal?: AbortSignal;
}

export interface RequestInit2 {
  headers?: Record<string, string>;
  /** Made again for each attempt, since a body stream can be sent once. */
  body?: () => BodyInit;
  /** Statuses the caller handles itself (no error thrown). */
  accept?: number[];
  /** Follow redirects (blob downloads go to storage URLs without our Authorization header). */
  follow?: boolean;
}

const RETRIES = 4;
const CONNECT_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "UND_ERR_SOCKET", "ConnectionClosed", "ConnectionRefused"]);

/** docker.io's API lives on another host, as in every client. */
function apiHost(host: string): string {
  return host === "docker.io" ? "registry-1.docker.io" : host;
}

/** The registry's own words from an error body: {"errors":[{"code","message"}]}. */
async function registryMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] }).errors ?? [];
    if (errors.length) return errors.map((e) => e.message || e.code).join("; ");
  } catch {}
  return text.trim().split("\n")[0]?.slice(0, 200) || res.statusText || "no details";
}

/** Parse `Bearer realm="…",service="…",scope="…"` into its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header) ?? ["", "", ""];
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? "").replace(/\\(.)/g, "$1");
  return { scheme: m[1]!.toLowerCase(), params };
}

function basic(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString("base64")}`;
}

/** A dropped or refused connection, worth another try (unlike a name that does not resolve, or bad TLS). */
export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code !== undefined && CONNECT_ERRORS.has(code);
}

/**
 * A client for the OCI Distribution API of one repository: picks https (or http when insecure),
 * answers auth challenges (bearer tokens, basic), and retries 429/5xx and dropped connections.
 */
export class RegistryClient {
  private scheme: "https" | "http" = "https";
  private schemeKnown = false;
  private authorization?: string;
  private readonly tls: Record<string, unknown>;

  constructor(readonly o: ClientOptions) {
    const t = hostTls(o.host);
    this.tls = o.insecure ? { rejectUnauthorized: false } : { ...(t.ca.length ? { ca: withDefaultCas(t.ca) } : {}), ...(t.cert ? { cert: t.cert, key: t.key } : {}) };
  }

  get host(): string {
    return this.o.host;
  }

  url(path: string): string {
    return `${this.scheme}://${apiHost(this.o.host)}/v2/${path}`;
  }

  /** A request to /v2/<path> (path relative to /v2/, or an absolute URL from a Location header). */
  async request(method: string, path: string, init: RequestInit2 = {}): Promise<Response> {
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.send(method, path, init);
      } catch (err) {
        if (this.o.signal?.aborted) throw err;
        if (!isNetworkError(err) || attempt >= RETRIES) throw this.networkError(err);
        debug(`${method} ${path}: ${(err as Error).message}; retrying`);
        await this.backoff(attempt);
        continue;
      }
      if (res.status === 401 && !refreshed) {
        refreshed = true;
        await res.body?.cancel();
        await this.authenticate(res.headers.get("www-authenticate"));
        attempt--;
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && attempt < RETRIES && !init.accept?.includes(res.status)) {
        await res.body?.cancel();
        debug(`${method} ${path}: HTTP ${res.status}; retrying`);
        await this.backoff(attempt, res.headers.get("retry-after"));
        continue;
      }
      if (res.ok || init.accept?.includes(res.status) || (res.status >= 300 && res.status < 400)) return res;
      throw await this.httpError(res, attempt);
    }
  }

  private async send(method: string, path: string, init: RequestInit2): Promise<Response> {
    const target = /^https?:\/\//.test(path) ? path : path.startsWith("/") ? `${this.scheme}://${apiHost(this.o.host)}${path}` : this.url(path);
    const headers: Record<string, string> = { "user-agent": "rl", ...init.headers };
    if (this.authorization) headers.authorization = this.authorization;
    const go = (url: string) =>
      fetch(url, { method, headers, body: init.body?.(), redirect: "manual", signal: this.o.signal, tls: this.tls, decompress: false } as RequestInit);
    let res: Response;
    try {
      res = await go(target);
      this.schemeKnown = true;
    } catch (err) {
      // Insecure registries may speak plain HTTP: fall back once, as podman does.
      // Parallel requests may all fail over https before one of them finds that http works.
      if (!this.o.insecure || (this.schemeKnown && this.scheme === "https") || this.o.signal?.aborted || !target.startsWith("https://")) throw err;
      debug(`https to ${this.o.host} failed (${(err as Error).message}); trying http`);
      this.scheme = "http";
      this.schemeKnown = true;
      res = await go(target.replace(/^https:/, "http:"));
    }
    const location = res.headers.get("location");
    if (init.follow && location && res.status >= 300 && res.status < 400) {
      await res.body?.cancel();
      const next = new URL(location, target).toString();
      return fetch(next, { method, headers: init.headers, redirect: "follow", signal: this.o.signal, tls: this.tls, decompress: false } as RequestInit);
    }
    return res;
  }

  /** Answer a 401 challenge: fetch a bearer token for this repository's scope, or send basic credentials. */
  async authenticate(header: string | null): Promise<void> {
    const c = header ? parseChallenge(header) : { scheme: "", params: {} as Record<string, string> };
    if (c.scheme === "basic") {
      if (!this.o.credentials) throw new RlError(`${this.o.host}: authentication required (use rl login ${this.o.host} or --creds)`);
      this.authorization = basic(this.o.credentials);
      return;
    }
    if (c.scheme !== "bearer" || !c.params.realm) throw new RlError(`${this.o.host}: unauthorized (unsupported challenge ${JSON.stringify(header ?? "")})`);
    const url = new URL(c.params.realm);
    if (c.params.service) url.searchParams.set("service", c.params.service);
    // Our repository's scope, plus what the challenge asks (a cross-repository mount needs pull on the source).
    const scopes = new Set([...(this.o.repository ? [`repository:${this.o.repository}:${this.o.actions}`] : []), ...(c.params.scope?.split(" ").filter(Boolean) ?? [])]);
    for (const s of scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = { "user-agent": "rl" };
    if (this.o.credentials) headers.authorization = basic(this.o.credentials);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: this.o.signal, tls: this.tls } as RequestInit);
    } catch (err) {
      throw this.networkError(err, url.host);
    }
    if (res.status === 401 || res.status === 403) throw new RlError(`${this.o.host}: ${await registryMessage(res)} (HTTP ${res.status}: bad credentials?)`);
    if (!res.ok) throw new RlError(`${this.o.host}: the token server ${url.host} answered HTTP ${res.status}: ${await registryMessage(res)}`);
    const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RlError(`${this.o.host}: the token server ${url.host} sent no token`);
    this.authorization = `Bearer ${token}`;
  }

  private async backoff(attempt: number, retryAfter?: string | null): Promise<void> {
    const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    await Bun.sleep(Math.min(Math.max(asked, 200 * 2 ** attempt), 10_000));
  }

  private networkError(err: unknown, host = this.o.host): RlError {
    if (err instanceof RlError) return err;
    const code = (err as { code?: string }).code;
    if (code === "ENOTFOUND") return new RlError(`${host}: no such host`);
    if (code === "ECONNREFUSED" || code === "ConnectionRefused") return new RlError(`${host}: connection refused`);
    if (code && /CERT|SELF_SIGNED|UNABLE_TO|TLS|EPROTO/i.test(`${code} ${(err as Error).message}`)) {
      return new RlError(`${host}: TLS failed: ${(err as Error).message} (add its CA under certs.d/${host}/, or use --tls-verify=false)`);
    }
    return new RlError(`${host}: ${(err as Error).message}`);
  }

  private async httpError(res: Response, attempt: number): Promise<RlError> {
    const msg = await registryMessage(res);
    if (res.status === 401) return new RlError(`${this.o.host}: unauthorized: ${msg} (HTTP 401)`);
    const tries = attempt && (res.status === 429 || res.status >= 500) ? `, still after ${attempt + 1} attempts` : "";
    return new RlError(`${this.o.host}: ${msg} (HTTP ${res.status}${tries})`);
  }
}
