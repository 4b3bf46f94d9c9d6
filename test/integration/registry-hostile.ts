import { afterAll, beforeAll } from "bun:test";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { concat, TAR_END, tarHeader, tarPadding } from "../../cli/lib/image/tar-writer";
import { makeRegistryEnv } from "./registry-harness";

/**
 * A registry that lies and stalls, on 127.0.0.1: each repository name is one misbehaviour (see
 * SCENARIOS). Whatever it does not break it serves right, from a small generated image, so that each
 * scenario fails in one place only.
 */
export interface HostileRegistry {
  host: string;
  /** Every request: "METHOD /path [range]". */
  seen: string[];
  /** Requests to the blob storage "redirect-storage" sends blobs to: "METHOD /path authorization|none". */
  storageSeen: string[];
  stop(): void;
}

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

type Bytes = Uint8Array<ArrayBuffer>;

interface Image {
  manifest: Bytes;
  blobs: Map<string, Bytes>;
  layer: string;
}

/** An image of one gzip layer: `files` as a tar. */
function makeImage(files: { path: string; data: Uint8Array }[], layerBytes?: Uint8Array): Image {
  const tar = concat([...files.flatMap((f) => [tarHeader({ path: f.path, type: "file", size: f.data.length, mode: 0o644 }), f.data, tarPadding(f.data.length)]), TAR_END]);
  const layer = (layerBytes ?? gzipSync(tar)) as Bytes;
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: [sha256(tar)] } }));
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
    }),
  );
  return { manifest, blobs: new Map<string, Bytes>([[sha256(config), config], [sha256(layer), layer]]), layer: sha256(layer) };
}

/** A gzip layer of `mib` MiB of zeros in one file: a few hundred bytes per MiB compressed. */
function bombLayer(mib: number): Uint8Array {
  const size = mib << 20;
  const gz = gzipSync(concat([tarHeader({ path: "zeros", type: "file", size, mode: 0o644 }), new Uint8Array(size), TAR_END]), { level: 9 });
  return gz;
}

/** A body that never ends: `chunk` again and again, as fast as it is read. */
function endless(chunk: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({ pull: (ctl) => ctl.enqueue(chunk) });
}

/** `bytes` as a stream of 64 KiB chunks: sent chunked, without a Content-Length. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.subarray(at, (at += 64 << 10)));
    },
  });
}

/** `bytes`, of which only the first half is ever sent; then the stream waits forever (or is cut). */
function halfThen(bytes: Uint8Array, then: "stall" | "cut"): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(ctl) {
      ctl.enqueue(bytes.subarray(0, bytes.length >> 1));
      if (then === "cut") {
        await Bun.sleep(50);
        ctl.error(new Error("cut by the hostile registry"));
      }
    },
  });
}

/** Where "redirect-storage" points: set when the registry starts. */
const STORAGE = { url: "" };

const SPACES = new TextEncoder().encode(" ".repeat(64 << 10));
const never = () => new Promise<Response>(() => {});

type Handler = (kind: "manifest" | "blob" | "base", req: Request, url: URL, img: Image, digest: string) => Response | Promise<Response> | undefined;

/** Each scenario: what it breaks. Undefined means "serve this right". */
export const SCENARIOS: Record<string, Handler> = {
  "endless-manifest": (kind) => (kind === "manifest" ? new Response(endless(SPACES), { headers: { "content-type": OCI_MANIFEST } }) : undefined),
  "oversized-manifest": (kind) => (kind === "manifest" ? new Response(streamOf(concat([new Uint8Array(5 << 20).fill(32), new TextEncoder().encode("{}")])), { headers: { "content-type": OCI_MANIFEST } }) : undefined),
  "declared-manifest": (kind) => (kind === "manifest" ? new Response(new Uint8Array(100 << 20).fill(32), { headers: { "content-type": OCI_MANIFEST } }) : undefined),
  "stall-headers": (kind) => (kind === "manifest" ? never() : undefined),
  "stall-manifest": (kind, _r, _u, img) => (kind === "manifest" ? new Response(halfThen(img.manifest, "stall"), { headers: { "content-type": OCI_MANIFEST, "content-length": String(img.manifest.length) } }) : undefined),
  "stall-blob": (kind, _r, _u, img, digest) => (kind === "blob" && digest === img.layer ? new Response(halfThen(img.blobs.get(digest)!, "stall"), { headers: { "content-length": String(img.blobs.get(digest)!.length) } }) : undefined),
  truncated: (kind, _r, _u, img, digest) => (kind === "blob" && digest === img.layer ? new Response(halfThen(img.blobs.get(digest)!, "cut"), { headers: { "content-length": String(img.blobs.get(digest)!.length) } }) : undefined),
  "wrong-digest": (kind, _r, _u, img, digest) => {
    if (kind !== "blob" || digest !== img.layer) return undefined;
    const bytes = new Uint8Array(img.blobs.get(digest)!);
    bytes[bytes.length >> 1]! ^= 0xff;
    return new Response(bytes);
  },
  "redirect-file": (kind) => (kind === "manifest" ? new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } }) : undefined),
  "redirect-zero": (kind, _r, _u, img, digest) => (kind === "blob" && digest === img.layer ? new Response(null, { status: 307, headers: { location: "file:///dev/zero" } }) : undefined),
  "redirect-data": (kind) => (kind === "manifest" ? new Response(null, { status: 302, headers: { location: "data:application/json,{}" } }) : undefined),
  "redirect-ftp": (kind) => (kind === "manifest" ? new Response(null, { status: 301, headers: { location: "ftp://127.0.0.1/manifest" } }) : undefined),
  "redirect-loop": (kind, _r, url) => (kind === "manifest" ? new Response(null, { status: 302, headers: { location: url.pathname } }) : undefined),
  "unauthorized": () => new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "who are you" }] }), { status: 401 }),
  "garbage": (kind) => (kind === "manifest" ? new Response("this is not JSON {", { headers: { "content-type": OCI_MANIFEST } }) : undefined),
  "endless-error": (kind) => (kind === "manifest" ? new Response(endless(SPACES), { status: 404 }) : undefined),
  "endless-token": (_k, req, url) => {
    if (req.headers.get("authorization")) return undefined;
    return new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="http://${url.host}/token/endless",service="hostile"` } });
  },
  // Basic auth; blobs are redirected to a storage server on another port (as registries send them to S3).
  "redirect-storage": (kind, req, _u, _img, digest) => {
    if (!req.headers.get("authorization")) return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="hostile"' } });
    return kind === "blob" ? new Response(null, { status: 307, headers: { location: `${STORAGE.url}/blobs/${digest}` } }) : undefined;
  },
  "bomb": () => undefined, // a gzip layer of 64 MiB of zeros, served right: the image itself is the attack
  "large": () => undefined, // served right: a 4 MiB layer that does not compress, for a disk that fills
};

/** Start the hostile registry; stop() ends it and every connection it holds open. */
export function startHostileRegistry(): HostileRegistry {
  const plain = makeImage([{ path: "hello", data: new TextEncoder().encode("hello\n") }]);
  let bomb: Image | undefined;
  let large: Image | undefined;
  const seen: string[] = [];
  const storageSeen: string[] = [];
  const storage = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      storageSeen.push(`${req.method} ${url.pathname} ${req.headers.get("authorization") ? "authorization" : "none"}`);
      const blob = plain.blobs.get(url.pathname.replace("/blobs/", ""));
      return blob ? new Response(blob) : new Response("no such blob", { status: 404 });
    },
  });
  STORAGE.url = `http://127.0.0.1:${storage.port}`;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url);
      const range = req.headers.get("range");
      seen.push(`${req.method} ${url.pathname}${range ? ` ${range}` : ""}`);
      if (url.pathname === "/token/endless") return new Response(endless(SPACES), { headers: { "content-type": "application/json" } });
      const m = /^\/v2\/(?:([a-z-]+)\/(manifests|blobs)\/(.+))?$/.exec(url.pathname);
      if (!m) return new Response("not found", { status: 404 });
      const scenario = m[1] ? SCENARIOS[m[1]] : undefined;
      const img = m[1] === "bomb" ? (bomb ??= makeImage([], bombLayer(64))) : m[1] === "large" ? (large ??= makeImage([{ path: "noise", data: new Uint8Array(randomBytes(4 << 20)) }])) : plain;
      const kind = !m[1] ? "base" : m[2] === "manifests" ? "manifest" : "blob";
      const broken = scenario?.(kind, req, url, img, m[3] ?? "");
      if (broken) return broken;
      if (kind === "base") return Response.json({});
      if (kind === "manifest") return new Response(img.manifest, { headers: { "content-type": OCI_MANIFEST, "docker-content-digest": sha256(img.manifest) } });
      const blob = img.blobs.get(m[3]!);
      return blob ? new Response(blob) : Response.json({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }, { status: 404 });
    },
  });
  return {
    host: `127.0.0.1:${server.port}`,
    seen,
    storageSeen,
    stop: () => {
      server.stop(true);
      storage.stop(true);
    },
  };
}

/** Run `argv` to its end, polling its peak resident memory (VmHWM of /proc/PID/status) meanwhile. */
export async function runMeasured(argv: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string; peakKiB: number }> {
  const p = Bun.spawn(argv, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let peakKiB = 0;
  let done = false;
  const poll = (async () => {
    while (!done) {
      const status = await Bun.file(`/proc/${p.pid}/status`).text().catch(() => "");
      const m = /VmHWM:\s+(\d+) kB/.exec(status);
      if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
      await Bun.sleep(20);
    }
  })();
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  done = true;
  await poll;
  return { code, stdout, stderr, peakKiB };
}

/** For a describe block: a store of its own and a hostile registry, both gone after its tests. `host()` once started. */
export function withHostileRegistry() {
  const env = makeRegistryEnv();
  let reg: HostileRegistry | undefined;
  beforeAll(() => {
    reg = startHostileRegistry();
  });
  afterAll(async () => {
    reg?.stop();
    await env.t.cleanup();
  });
  return { ...env, host: () => reg!.host, seen: () => reg!.seen, storageSeen: () => reg!.storageSeen };
}
