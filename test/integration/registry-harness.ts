import { expect } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { makeEnv, rl } from "./harness";

/** rl's own failures: one error line (after any progress lines), exit 125. */
export function expectOneLineError(r: { code: number; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(125);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines.filter((l) => l.startsWith("rl: "))).toEqual([lines[lines.length - 1]!]);
  expect(lines[lines.length - 1]).toMatch(pattern);
}

/** One store per describe block, with its own HOME and config dirs so no user's auth.json or registries.conf is read. */
export function makeRegistryEnv() {
  const t = makeEnv((root, env) => {
    for (const d of ["home", "run-user", "config"]) mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, "registries.conf"), "");
    Object.assign(env, { HOME: join(root, "home"), XDG_RUNTIME_DIR: join(root, "run-user"), XDG_CONFIG_HOME: join(root, "config"), RL_REGISTRIES_CONF: join(root, "registries.conf"), RL_CERTS_DIR: join(root, "certs.d") });
    delete env.REGISTRY_AUTH_FILE;
  });
  const run = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  /** What a user would see of the store: image rows, names, and any leftovers in tmp/. */
  const store = () => {
    const dbPath = join(t.env.RL_ROOT!, "rl.db");
    if (!existsSync(dbPath)) return { images: 0, names: [] as string[], tmp: [] as string[] };
    const db = new Database(dbPath, { readonly: true });
    try {
      const images = (db.query("SELECT count(*) AS n FROM images").get() as { n: number }).n;
      const names = (db.query("SELECT name FROM image_names ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      const tmpDir = join(t.env.RL_ROOT!, "tmp");
      return { images, names, tmp: existsSync(tmpDir) ? readdirSync(tmpDir) : [] };
    } finally {
      db.close();
    }
  };
  return { t, run, store };
}

/** A port on 127.0.0.1 that nothing listens on right now (for "connection refused" cases only: never bind it later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Registry {
  port: number;
  /** 127.0.0.1:PORT, or [::1]:PORT */
  host: string;
  dir: string;
  stop(): Promise<void>;
}

export interface RegistryConfig {
  /** htpasswd basic auth for this user. */
  basic?: { user: string; password: string };
  /** TLS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  /** Bearer-token auth: the token server's realm, and the PEM of the certificate that signs its tokens. */
  token?: { realm: string; service: string; issuer: string; rootCert: string };
  /** Listen on the IPv6 loopback [::1] instead of 127.0.0.1. */
  ipv6?: boolean;
}

/** The address the registry bound (it was given port 0), from its "listening on" log line. */
async function listeningPort(proc: { exitCode: number | null }, log: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    const text = await Bun.file(log).text();
    const m = /msg="listening on (?:127\.0\.0\.1|\[::1\]):(\d+)[,"]/.exec(text);
    if (m) return Number(m[1]);
    if (proc.exitCode !== null) throw new Error(`the registry exited: ${text}`);
    await Bun.sleep(25);
  }
  throw new Error(`the registry did not say where it listens: ${await Bun.file(log).text()}`);
}

/** Debian's docker-registry on 127.0.0.1 (or [::1]), with its storage in a temp dir; stop() ends it by PID and removes it. */
export async function startRegistry(c: RegistryConfig = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "rl-registry-"));
  // Port 0: the registry binds a free port itself and logs it (info level), so no other process can take it first.
  const lines = [
    "version: 0.1",
    "log: { level: info, accesslog: { disabled: true } }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    "http:",
    `  addr: "${c.ipv6 ? "[::1]:0" : "127.0.0.1:0"}"`,
    `  secret: rl-test-secret`,
  ];
  if (c.tls) lines.push(`  tls: { certificate: ${c.tls.cert}, key: ${c.tls.key} }`);
  if (c.basic) {
    const hash = await Bun.password.hash(c.basic.password, { algorithm: "bcrypt", cost: 5 });
    writeFileSync(join(dir, "htpasswd"), `${c.basic.user}:${hash}\n`);
    lines.push(`auth: { htpasswd: { realm: rl-test, path: ${join(dir, "htpasswd")} } }`);
  }
  if (c.token) {
    lines.push(`auth: { token: { realm: "${c.token.realm}", service: "${c.token.service}", issuer: "${c.token.issuer}", rootcertbundle: ${c.token.rootCert} } }`);
  }
  writeFileSync(join(dir, "config.yml"), `${lines.join("\n")}\n`);
  const log = join(dir, "registry.log");
  const fd = openSync(log, "w");
  const proc = Bun.spawn(["/usr/bin/docker-registry", "serve", join(dir, "config.yml")], { stdout: fd, stderr: fd, stdin: "ignore" });
  const stop = async () => {
    // A registry ended by the signal has no exit code: stop() may be called again (a test, then afterAll).
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(proc.pid, "SIGTERM");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let port: number;
  try {
    port = await listeningPort(proc, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, host: c.ipv6 ? `[::1]:${port}` : `127.0.0.1:${port}`, dir, stop };
}

/** skopeo copy, failing loudly. */
export async function skopeo(args: string[], env?: Record<string, string>): Promise<string> {
  const p = Bun.spawn(["skopeo", ...args], { stdout: "pipe", stderr: "pipe", env: env ?? (process.env as Record<string, string>) });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`skopeo ${args.join(" ")} failed: ${err}`);
  return out;
}

/** Copy an OCI layout from the fixtures into a registry over plain HTTP (credentials when it needs them). */
export function fill(src: string, dest: string, extra: string[] = []): Promise<string> {
  return skopeo(["copy", "--quiet", "--dest-tls-verify=false", ...extra, src, `docker://${dest}`]);
}

/** A self-signed certificate for 127.0.0.1 (it is its own CA), made with openssl. */
export async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const p = Bun.spawn(
    ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE"],
    { stdout: "ignore", stderr: "pipe" },
  );
  if ((await p.exited) !== 0) throw new Error(`openssl failed: ${await new Response(p.stderr).text()}`);
  return { cert, key };
}

export interface TokenServer {
  realm: string;
  /** Scopes asked for, in order, as "user scope" ("-" when anonymous). */
  requests: string[];
  stop(): void;
}

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/**
 * A bearer-token server as docker-registry's `auth: token:` expects: RS256 JWTs whose x5c header carries
 * the signing certificate. `user`/`password` get the actions they ask for; anonymous requests get pull on
 * the repositories under `anonymousPull` prefixes, and nothing else.
 */
export function startTokenServer(o: { cert: string; key: string; service: string; issuer: string; user: string; password: string; anonymousPull?: string[] }): TokenServer {
  const { createPrivateKey, createSign, X509Certificate } = require("node:crypto") as typeof import("node:crypto");
  const fs = require("node:fs") as typeof import("node:fs");
  const der = new X509Certificate(fs.readFileSync(o.cert)).raw;
  const key = createPrivateKey(fs.readFileSync(o.key));
  const requests: string[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const auth = req.headers.get("authorization");
      let user = "-";
      if (auth?.startsWith("Basic ")) {
        const [u, ...rest] = Buffer.from(auth.slice(6), "base64").toString().split(":");
        if (u !== o.user || rest.join(":") !== o.password) return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad username or password" }] }, { status: 401 });
        user = u!;
      }
      const access = [];
      for (const scope of url.searchParams.getAll("scope")) {
        requests.push(`${user} ${scope}`);
        const m = /^repository:([^:]+):(.+)$/.exec(scope);
        if (m && user !== "-") access.push({ type: "repository", name: m[1], actions: m[2]!.split(",") });
        else if (m && o.anonymousPull?.some((prefix) => m[1]!.startsWith(prefix)) && m[2]!.split(",").includes("pull")) access.push({ type: "repository", name: m[1], actions: ["pull"] });
      }
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [Buffer.from(der).toString("base64")] }));
      const claims = b64url(JSON.stringify({ iss: o.issuer, sub: user, aud: url.searchParams.get("service") ?? o.service, exp: now + 300, nbf: now - 60, iat: now, jti: crypto.randomUUID(), access }));
      const sig = createSign("RSA-SHA256").update(`${header}.${claims}`).sign(key);
      return Response.json({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 });
    },
  });
  return { realm: `http://127.0.0.1:${server.port}/token`, requests, stop: () => server.stop(true) };
}

export type Fault = (req: Request, url: URL) => "pass" | "cut" | "corrupt" | "stall" | Response;

export interface FaultProxy {
  host: string;
  /** Every request seen: "METHOD path [range]". */
  seen: string[];
  fault: Fault;
  stop(): void;
}

/** A proxy in front of a real registry that can fail requests, cut a blob midway, corrupt it or stall it. */
export function startFaultProxy(upstream: string): FaultProxy {
  const proxy: FaultProxy = { host: "", seen: [], fault: () => "pass", stop: () => {} };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const range = req.headers.get("range");
      proxy.seen.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ""}`);
      const what = proxy.fault(req, url);
      if (what instanceof Response) return what;
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(`http://${upstream}${url.pathname}${url.search}`, { method: req.method, headers, body: req.body, redirect: "manual", decompress: false } as RequestInit);
      // Upload locations name the upstream: point them back at the proxy so every request passes here.
      const out = new Headers(res.headers);
      const location = out.get("location");
      if (location) out.set("location", location.replace(`//${upstream}/`, `//${proxy.host}/`));
      if (what === "pass") return new Response(res.body, { status: res.status, headers: out });
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (what === "corrupt") {
        bytes[bytes.length >> 1]! ^= 0xff;
        return new Response(bytes, { status: res.status, headers: out });
      }
      // cut: send half the bytes under the full Content-Length, then drop the connection; stall: send half and wait.
      const half = bytes.subarray(0, bytes.length >> 1);
      const body = new ReadableStream({
        async start(ctl) {
          ctl.enqueue(half);
          if (what === "cut") {
            await Bun.sleep(20);
            ctl.error(new Error("cut by the test proxy"));
          }
        },
      });
      return new Response(body, { status: res.status, headers: out });
    },
  });
  proxy.host = `127.0.0.1:${server.port}`;
  proxy.stop = () => server.stop(true);
  return proxy;
}
