#!/usr/bin/env bun
/**
 * A deterministic, large OCI image for load/unpack benchmarks (and, scaled down, for tests):
 * 4 gzip layers, 300+ MiB uncompressed, 20k+ files, with whiteouts, opaque directories, hard links
 * and symlinks. The same `scale` always gives byte-identical blobs (fixed PRNG seed, fixed mtimes,
 * gzip level fixed).
 *
 *   bun bench/large-image.ts DIR [--scale S] [--archive FILE]
 *
 * writes an OCI layout into DIR (ref name `large:1`) and, with
 * --archive, the same layout as an oci-archive tar.
 */
import { closeSync, mkdirSync, openSync, readdirSync, renameSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { TarFileWriter, type TarWriteEntry } from "../cli/lib/image/tar-writer";

const MTIME = 1_700_000_000;

/** xorshift32: the same numbers on every machine. */
function prng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Text-like bytes (compress about 4:1, like real files) or incompressible ones. */
function content(rand: () => number, size: number, binary: boolean): Uint8Array {
  const out = new Uint8Array(size);
  if (binary) {
    const v = new Uint32Array(out.buffer, 0, size >>> 2);
    for (let i = 0; i < v.length; i++) v[i] = rand();
    for (let i = v.length * 4; i < size; i++) out[i] = rand() & 0xff;
    return out;
  }
  const words = ["lorem ", "ipsum ", "dolor ", "sit ", "amet ", "config ", "value=", "true\n", "false\n", "0x1f ", "path/to/file ", "\n"];
  let i = 0;
  while (i < size) {
    const w = words[rand() % words.length]!;
    for (let j = 0; j < w.length && i < size; j++) out[i++] = w.charCodeAt(j);
  }
  return out;
}

type Entry = { e: TarWriteEntry; data?: Uint8Array };

/** The entries of each layer, generated lazily so no layer is held whole in memory. */
function* layerEntries(n: number, scale: number): Generator<Entry> {
  const rand = prng(1000 + n);
  const dir = (path: string): Entry => ({ e: { path, type: "dir", mode: 0o755, mtime: MTIME } });
  const file = (path: string, size: number, binary = false, uid = 0): Entry => ({
    e: { path, type: "file", size, mode: 0o644, uid, gid: uid, mtime: MTIME },
    data: content(rand, size, binary),
  });
  const count = (k: number) => Math.max(1, Math.round(k * scale));
  const small = () => 512 + (rand() % 15_000);
  if (n === 0) {
    for (const d of ["usr", "usr/lib", "usr/share", "etc", "opt", "var", "var/cache"]) yield dir(d);
    for (let a = 0; a < count(60); a++) {
      yield dir(`usr/lib/pkg${a}`);
      for (let f = 0; f < 200; f++) yield file(`usr/lib/pkg${a}/mod${f}.py`, small(), false, a % 7 === 0 ? 1000 : 0);
    }
    yield dir("opt/data");
    for (let b = 0; b < count(4); b++) yield file(`opt/data/blob${b}.bin`, Math.round((24 << 20) * scale), true);
    yield dir("var/cache/old");
    for (let f = 0; f < 500; f++) yield file(`var/cache/old/c${f}`, 2048);
    yield file("etc/config", 4096);
  } else if (n === 1) {
    for (let a = 0; a < count(30); a++) {
      yield dir(`usr/share/doc${a}`);
      for (let f = 0; f < 200; f++) yield file(`usr/share/doc${a}/page${f}.html`, small());
    }
    // Whiteouts of files and of a whole directory from layer 0; an opaque directory replacing another.
    for (let f = 0; f < 100; f++) yield file(`usr/lib/pkg1/.wh.mod${f}.py`, 0);
    yield file("usr/lib/.wh.pkg2", 0);
    yield dir("var/cache/old");
    yield file("var/cache/old/.wh..wh..opq", 0);
    yield file("var/cache/old/fresh", 1024);
    yield dir("opt/data");
    yield file("opt/data/layer1.bin", Math.round((40 << 20) * scale), true);
  } else if (n === 2) {
    yield dir("srv");
    for (let a = 0; a < count(25); a++) {
      yield dir(`srv/site${a}`);
      for (let f = 0; f < 200; f++) yield file(`srv/site${a}/asset${f}.js`, small());
      yield { e: { path: `srv/site${a}/link`, type: "symlink", linkpath: "asset0.js", mtime: MTIME } };
      yield { e: { path: `srv/site${a}/hard`, type: "hardlink", linkpath: `srv/site${a}/asset1.js`, mtime: MTIME } };
    }
    yield file("opt/data/layer2.bin", Math.round((32 << 20) * scale), true);
  } else {
    yield file("opt/data/.wh.blob0.bin", 0);
    yield file("etc/config", 8192);
    for (let f = 0; f < count(200); f++) yield file(`etc/conf${f}`, 300);
  }
}

export const LAYERS = 4;

async function writeLayer(n: number, scale: number, blobs: string): Promise<{ digest: string; size: number; diffId: string }> {
  const tmp = join(blobs, `.tmp-layer${n}`);
  const fd = openSync(tmp, "w");
  const plain = new Bun.CryptoHasher("sha256");
  const packed = new Bun.CryptoHasher("sha256");
  let size = 0;
  const gz = createGzip({ level: 6, chunkSize: 1 << 18 });
  gz.on("data", (c: Buffer) => {
    packed.update(c);
    size += c.length;
    for (let off = 0; off < c.length; ) off += writeSync(fd, c, off);
  });
  const done = new Promise<void>((ok, fail) => {
    gz.on("end", ok);
    gz.on("error", fail);
  });
  const write = (b: Uint8Array) => {
    plain.update(b);
    if (!gz.write(b)) return new Promise<void>((ok) => gz.once("drain", ok));
  };
  const tar = new TarFileWriter(write);
  for (const { e, data } of layerEntries(n, scale)) await tar.add(e, data);
  await tar.end();
  gz.end();
  await done;
  closeSync(fd);
  const digest = `sha256:${packed.digest("hex")}`;
  renameSync(tmp, join(blobs, digest.slice(7)));
  return { digest, size, diffId: `sha256:${plain.digest("hex")}` };
}

function putJson(blobs: string, value: unknown): { digest: string; size: number } {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
  writeFileSync(join(blobs, digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

/**
 * Write the image as an OCI layout into `dir` (created). `scale` 1 is the benchmark size (about
 * 330 MiB, 22k files); tests use a fraction. Returns the manifest digest and totals.
 */
export async function makeLargeImage(dir: string, scale = 1): Promise<{ manifestDigest: string; configDigest: string; files: number; bytes: number }> {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  for (let n = 0; n < LAYERS; n++) layers.push(await writeLayer(n, scale, blobs));
  let files = 0;
  let bytes = 0;
  for (let n = 0; n < LAYERS; n++) for (const { e } of layerEntries(n, scale)) {
    files++;
    bytes += e.size ?? 0;
  }
  const created = new Date(MTIME * 1000).toISOString();
  const config = putJson(blobs, {
    created,
    architecture: "amd64",
    os: "linux",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created, created_by: `bench layer ${i}` })),
  });
  const manifest = putJson(blobs, {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: l.digest, size: l.size })),
  });
  const desc = { mediaType: "application/vnd.oci.image.manifest.v1+json", ...manifest };
  writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      // One entry: podman load refuses an oci-archive whose index lists more than one.
      manifests: [{ ...desc, annotations: { "org.opencontainers.image.ref.name": "large:1" } }],
    }),
  );
  return { manifestDigest: manifest.digest, configDigest: config.digest, files, bytes };
}

/** The OCI layout in `dir` as an oci-archive (an uncompressed tar of the layout) at `out`. */
export async function writeOciArchive(dir: string, out: string): Promise<void> {
  const fd = openSync(out, "w", 0o644);
  const tar = new TarFileWriter((b) => {
    for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
  });
  const add = async (rel: string) => {
    const path = join(dir, rel);
    const st = statSync(path);
    if (st.isDirectory()) {
      if (rel) await tar.add({ path: rel, type: "dir", mtime: MTIME });
      for (const n of readdirSync(path).sort()) await add(rel ? `${rel}/${n}` : n);
    } else {
      await tar.add({ path: rel, type: "file", size: st.size, mode: 0o644, mtime: MTIME }, Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>);
    }
  };
  await add("");
  await tar.end();
  closeSync(fd);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const dir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  if (!dir) {
    process.stderr.write("usage: bun bench/large-image.ts DIR [--scale S] [--archive FILE]\n");
    process.exit(64);
  }
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const r = await makeLargeImage(dir, Number(opt("--scale") ?? 1));
  const archive = opt("--archive");
  if (archive) await writeOciArchive(dir, archive);
  console.log(JSON.stringify({ dir, ...r, archive }, null, 2));
}
