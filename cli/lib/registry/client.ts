import { RlError } from "../errors";
import { debug } from "../log";
import type { Credentials } from "./auth-file";
import { hostTls, withDefaultCas } from "./certs";
import { LIMITS, MAX_REDIRECTS, registryTimeoutMs } from "./limits";
import { isNetworkError, networkWords } from "./network-error";
import { readBody, readPrefix } from "./read-body";
import { StallError, Watchdog } from "./watchdog";

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
  /** Follow http(s) redirects (blob downloads go to storage URLs without our Authorization header). */
  follow?: boolean;
  /** What is asked for, in error lines ("the manifest of alpine:3.20"); default "GET /v2/…". */
  what?: string;
}

const RETRIES = 4;

/** docker.io's API lives on another host, as in every client. */
function apiHost(host: string): string {
  return host === "docker.io" ? "registry-1.docker.io" : host;
}

/** Letters a registry may not put in rl's error line: control characters (a terminal would act on them). */
function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "?");
}

/** The registry's own words from an error body: {"errors":[{"code","message"}]}; only its first bytes are read. */
async function registryMessage(res: Response): Promise<string> {
  const text = await readPrefix(res, LIMITS.errorBody);
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] }).errors ?? [];
    if (Array.isArray(errors) && errors.length) return printable(errors.map((e) => String(e?.message || e?.code)).join("; ").slice(0, 300));
  } catch {}
  return printable(text.trim().split("\n")[0]?.slice(0, 200) || res.statusText || "no details");
}

/** A URL as shown in an error: without credentials, query or anything past 200 characters. */
function shownUrl(u: URL): string {
  const text = u.protocol === "http:" || u.protocol === "https:" ? `${u.protocol}//${u.host}${u.pathname}` : u.href;
  return printable(text.length > 200 ? `${text.slice(0, 200)}…` : text);
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

/**
 * A client for the OCI Distribution API of one repository: picks https (or http when insecure),
 * answers auth challenges (bearer tokens, basic), retries 429/5xx, dropped connections and stalls,
 * follows http(s) redirects only, and gives every request an idle timeout (see limits.ts).
 */
export class RegistryClient {
  private scheme: "https" | "http" = "https";
  private schemeKnown = false;
  private authorization?: string;
  private readonly tls: Record<string, unknown>;
  readonly timeoutMs = registryTimeoutMs();

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
        if (!isNetworkError(err) || attempt >= RETRIES) throw this.networkError(err, this.o.host, attempt);
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

  /**
   * GET a small document (a manifest): the request and the reading of its body, at most `limit` bytes,
   * are retried together when the connection drops or stalls.
   */
  async fetchBytes(path: string, init: RequestInit2, limit: number, what: string): Promise<{ res: Response; bytes: Uint8Array }> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.request("GET", path, { ...init, what });
      try {
        return { res, bytes: await readBody(res, limit, `${what} from ${this.o.host}`) };
      } catch (err) {
        if (this.o.signal?.aborted) throw err;
        if (!isNetworkError(err) || attempt >= RETRIES) throw this.networkError(err, this.o.host, attempt);
        debug(`GET ${path}: ${(err as Error).message}; retrying`);
        await this.backoff(attempt);
      }
    }
  }

  private async send(method: string, path: string, init: RequestInit2): Promise<Response> {
    const registry = apiHost(this.o.host);
    let target = /^https?:\/\//.test(path) ? path : path.startsWith("/") ? `${this.scheme}://${registry}${path}` : this.url(path);
    const what = init.what ?? `${method} ${path.startsWith("http") ? new URL(path).pathname : `/v2/${path}`}`;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { "user-agent": "rl", ...init.headers };
      // Our credentials go with the request asked (an upload location included), and with a redirect only
      // when it stays on the registry: not to the storage a blob is redirected to (as Go's client does).
      if (this.authorization && (hop === 0 || new URL(target).host === registry)) headers.authorization = this.authorization;
      let res: Response;
      try {
        res = await this.fetchWatched(target, { method, headers, body: init.body?.() }, what);
        this.schemeKnown = true;
      } catch (err) {
        // Insecure registries may speak plain HTTP: fall back once, as podman does.
        // Parallel requests may all fail over https before one of them finds that http works.
        if (hop || !this.o.insecure || (this.schemeKnown && this.scheme === "https") || this.o.signal?.aborted || !target.startsWith("https://")) throw err;
        debug(`https to ${this.o.host} failed (${(err as Error).message}); trying http`);
        this.scheme = "http";
        this.schemeKnown = true;
        target = target.replace(/^https:/, "http:");
        res = await this.fetchWatched(target, { method, headers, body: init.body?.() }, what);
      }
      const location = res.headers.get("location");
      if (!init.follow || !location || res.status < 300 || res.status >= 400) return res;
      await res.body?.cancel();
      let next: URL;
      try {
        next = new URL(location, target);
      } catch {
        throw new RlError(`registry ${this.o.host} redirected ${what} to an invalid address ${JSON.stringify(printable(location.slice(0, 200)))}`);
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new RlError(`registry ${this.o.host} redirected ${what} to ${shownUrl(next)}: only http and https redirects are followed`);
      }
      if (hop >= MAX_REDIRECTS) throw new RlError(`registry ${this.o.host} redirected ${what} more than ${MAX_REDIRECTS} times (last to ${shownUrl(next)})`);
      target = next.toString();
    }
  }

  /**
   * One fetch, never following redirects itself, with the idle timeout: for the answer, for each chunk of an
   * upload taken, then for each chunk of the body (the body returned is the watched one).
   */
  private async fetchWatched(url: string, init: { method: string; headers: Record<string, string>; body?: BodyInit }, what: string, server = `registry ${this.o.host}`): Promise<Response> {
    const dog = new Watchdog(this.timeoutMs, server, this.o.signal);
    const body = init.body instanceof ReadableStream ? dog.feed(init.body as ReadableStream<Uint8Array>, what) : init.body;
    dog.arm(`in answer to ${what}`);
    let res: Response;
    try {
      res = await fetch(url, { ...init, body, redirect: "manual", signal: dog.signal, tls: this.tls, decompress: false } as RequestInit);
    } catch (err) {
      throw dog.fired ?? err;
    } finally {
      dog.disarm();
    }
    if (!res.body) return res;
    return new Response(dog.watch(res.body, what), { status: res.status, statusText: res.statusText, headers: res.headers });
  }

  /** Answer a 401 challenge: fetch a bearer token for this repository's scope, or send basic credentials. */
  async authenticate(header: string | null): Promise<void> {
    if (!header) throw new RlError(`registry ${this.o.host} answered 401 Unauthorized without saying how to authenticate (no WWW-Authenticate header)`);
    const c = parseChallenge(header);
    if (c.scheme === "basic") {
      if (!this.o.credentials) throw new RlError(`${this.o.host}: authentication required (use rl login ${this.o.host} or --creds)`);
      this.authorization = basic(this.o.credentials);
      return;
    }
    if (c.scheme !== "bearer" || !c.params.realm) throw new RlError(`${this.o.host}: unauthorized (unsupported challenge ${JSON.stringify(printable(header.slice(0, 200)))})`);
    let url: URL;
    try {
      url = new URL(c.params.realm);
    } catch {
      throw new RlError(`${this.o.host}: the token server address ${JSON.stringify(printable(c.params.realm.slice(0, 200)))} is not a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new RlError(`${this.o.host}: the token server ${shownUrl(url)} is not http or https`);
    if (c.params.service) url.searchParams.set("service", c.params.service);
    // Our repository's scope, plus what the challenge asks (a cross-repository mount needs pull on the source).
    const scopes = new Set([...(this.o.repository ? [`repository:${this.o.repository}:${this.o.actions}`] : []), ...(c.params.scope?.split(" ").filter(Boolean) ?? [])]);
    for (const s of scopes) url.searchParams.append("scope", s);
    const headers: Record<string, string> = { "user-agent": "rl" };
    if (this.o.credentials) headers.authorization = basic(this.o.credentials);
    const what = "the request for a token";
    let body: Uint8Array;
    try {
      const res = await this.fetchWatched(url.toString(), { method: "GET", headers }, what, `the token server ${url.host}`);
      if (res.status === 401 || res.status === 403) throw new RlError(`${this.o.host}: ${await registryMessage(res)} (HTTP ${res.status}: bad credentials?)`);
      if (!res.ok) throw new RlError(`${this.o.host}: the token server ${url.host} answered HTTP ${res.status}: ${await registryMessage(res)}`);
      body = await readBody(res, LIMITS.token, `the answer of the token server ${url.host}`);
    } catch (err) {
      throw this.networkError(err, url.host);
    }
    let token: unknown;
    try {
      const doc = JSON.parse(new TextDecoder().decode(body)) as { token?: unknown; access_token?: unknown };
      token = doc.token ?? doc.access_token;
    } catch {}
    if (typeof token !== "string" || !token) throw new RlError(`${this.o.host}: the token server ${url.host} sent no token`);
    this.authorization = `Bearer ${token}`;
  }

  private async backoff(attempt: number, retryAfter?: string | null): Promise<void> {
    const asked = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    await Bun.sleep(Math.min(Math.max(asked, 200 * 2 ** attempt), 10_000));
  }

  private networkError(err: unknown, host = this.o.host, attempt = 0): RlError {
    if (err instanceof RlError) return err;
    const tries = attempt ? ` (${attempt + 1} attempts)` : "";
    if (err instanceof StallError) return new RlError(`${err.message}${tries}`);
    const code = (err as { code?: string }).code;
    if (code === "ENOTFOUND") return new RlError(`${host}: no such host`);
    if (code && /CERT|SELF_SIGNED|UNABLE_TO|TLS|EPROTO/i.test(`${code} ${(err as Error).message}`)) {
      return new RlError(`${host}: TLS failed: ${networkWords(err)} (add its CA under certs.d/${host}/, or use --tls-verify=false)`);
    }
    return new RlError(`${host}: ${networkWords(err)}`);
  }

  private async httpError(res: Response, attempt: number): Promise<RlError> {
    const msg = await registryMessage(res);
    if (res.status === 401) return new RlError(`${this.o.host}: unauthorized: ${msg} (HTTP 401)`);
    const tries = attempt && (res.status === 429 || res.status >= 500) ? `, still after ${attempt + 1} attempts` : "";
    return new RlError(`${this.o.host}: ${msg} (HTTP ${res.status}${tries})`);
  }
}
