import { mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";

/** A port on 127.0.0.1 that nothing listens on right now. */
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
  /** 127.0.0.1:PORT */
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
}

async function waitForPort(port: number, proc: { exitCode: number | null }, log: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`the registry exited: ${await Bun.file(log).text()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = require("node:net").connect(port, "127.0.0.1");
      sock.once("connect", () => (sock.destroy(), resolve(true)));
      sock.once("error", () => resolve(false));
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`the registry did not listen on ${port}: ${await Bun.file(log).text()}`);
}

/** Debian's docker-registry on 127.0.0.1, with its storage in a temp dir; stop() ends it by PID and removes it. */
export async function startRegistry(c: RegistryConfig = {}): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "rl-registry-"));
  const port = await freePort();
  const lines = [
    "version: 0.1",
    "log: { level: error, accesslog: { disabled: true } }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    "http:",
    `  addr: 127.0.0.1:${port}`,
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
    if (proc.exitCode === null) {
      process.kill(proc.pid, "SIGTERM");
      await proc.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, proc, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, host: `127.0.0.1:${port}`, dir, stop };
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
