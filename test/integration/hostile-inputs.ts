/**
 * Builders for hand-made tar layers and images (OCI layout, oci-archive, docker-archive), used to
 * feed rl malformed and hostile inputs. Everything is generated at test time; nothing binary is
 * committed.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { concat } from "../../cli/lib/image/tar-writer";

const enc = new TextEncoder();
const bytesOf = (b: string | Uint8Array) => (typeof b === "string" ? enc.encode(b) : b);

export type TarType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";
const TYPEFLAG: Record<TarType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

export interface TarSpec {
  name: string;
  type?: TarType;
  body?: string | Uint8Array;
  /** Symlink target or hardlink source. */
  link?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  devmajor?: number;
  devminor?: number;
  /** Pax records written in an 'x' header before this entry (values as given, unchecked). */
  pax?: Record<string, string>;
  /** Store a wrong header checksum. */
  badChecksum?: boolean;
  /** Size field to declare instead of the body's length. */
  declaredSize?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(name: string, typeflag: string, size: number, s: Partial<TarSpec>): Uint8Array {
  const b = new Uint8Array(512);
  const put = (at: number, v: string) => b.set(enc.encode(v), at);
  const nameBytes = enc.encode(name);
  if (nameBytes.length > 100) throw new Error(`tar name ${name} is longer than 100 bytes: use a pax path record`);
  b.set(nameBytes, 0);
  put(100, octal(s.mode ?? (typeflag === "5" ? 0o755 : 0o644), 8));
  put(108, octal(s.uid ?? 0, 8));
  put(116, octal(s.gid ?? 0, 8));
  put(124, octal(size, 12));
  put(136, octal(s.mtime ?? 1_700_000_000, 12));
  put(156, typeflag);
  if (s.link) b.set(enc.encode(s.link).subarray(0, 100), 157);
  put(257, "ustar\0");
  put(263, "00");
  put(329, octal(s.devmajor ?? 0, 8));
  put(337, octal(s.devminor ?? 0, 8));
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  put(148, octal(s.badChecksum ? sum + 1 : sum, 7) + " ");
  return b;
}

function paxBody(records: Record<string, string>): Uint8Array {
  let out = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(rest) + 1;
    while (String(len).length + Buffer.byteLength(rest) !== len) len++;
    out += `${len}${rest}`;
  }
  return enc.encode(out);
}

function padded(data: Uint8Array): Uint8Array[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, new Uint8Array(pad)] : [data];
}

/** A tar stream of `entries`, ended by two zero blocks unless `end` is false. */
export function tar(entries: TarSpec[], o: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const type = e.type ?? "file";
    const body = bytesOf(e.body ?? "");
    if (e.pax) {
      const p = paxBody(e.pax);
      parts.push(header("PaxHeaders/entry", "x", p.length, {}), ...padded(p));
    }
    const size = type === "file" || (type === "hardlink" && body.length) ? body.length : 0;
    parts.push(header(e.name, TYPEFLAG[type], e.declaredSize ?? size, e));
    if (size) parts.push(...padded(body));
  }
  if (o.end !== false) parts.push(new Uint8Array(1024));
  return concat(parts);
}

export { concat };

export function sha256(b: string | Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytesOf(b)).digest("hex")}`;
}

export type Compression = "gzip" | "zstd" | "none";
export function compress(t: Uint8Array, c: Compression): Uint8Array {
  return c === "gzip" ? new Uint8Array(gzipSync(t)) : c === "zstd" ? new Uint8Array(zstdCompressSync(t)) : t;
}

const LAYER_MEDIA: Record<Compression, string> = {
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  none: "application/vnd.oci.image.layer.v1.tar",
};

export interface LayerSpec {
  /** The uncompressed tar. */
  tar?: Uint8Array;
  /** A ready blob (compressed or not) instead of `tar`; then `diffId` must be given. */
  blob?: Uint8Array;
  compression?: Compression;
  /** Changes the stored blob after compression (e.g. truncates it); the digest is of the result unless `digest` is set. */
  mangle?: (blob: Uint8Array) => Uint8Array;
  /** Descriptor overrides. */
  digest?: string;
  size?: number;
  mediaType?: string;
  /** Config diff_id override. */
  diffId?: string;
  /** Leave the blob out of the layout. */
  omit?: boolean;
}

function diffIdOf(l: LayerSpec): string {
  return l.diffId ?? sha256(l.tar!);
}

/** The busybox fixture's layer, as a base that has /bin/true and friends. */
export function busyboxLayer(fixtures: string): LayerSpec {
  const dir = join(fixtures, "oci/busybox-1.38.0-musl-amd64/blobs/sha256");
  const manifest = JSON.parse(readFileSync(join(dir, "a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998"), "utf8"));
  const config = JSON.parse(readFileSync(join(dir, manifest.config.digest.slice(7)), "utf8"));
  return { blob: readFileSync(join(dir, manifest.layers[0].digest.slice(7))), diffId: config.rootfs.diff_ids[0], mediaType: manifest.layers[0].mediaType };
}

/** An image, with hooks to break any part of it. */
export interface ImageSpec {
  layers: LayerSpec[];
  configMediaType?: string;
  /** Replaces the config JSON text. */
  configText?: string;
  manifestMediaType?: string;
  manifestText?: string;
  omitConfig?: boolean;
  omitManifest?: boolean;
  /** Digest the index names instead of the manifest's. */
  indexManifestDigest?: string;
}

interface Built {
  blobs: Map<string, Uint8Array>;
  index: Uint8Array;
  config: Uint8Array;
  layerBlobs: Uint8Array[];
}

function build(spec: ImageSpec): Built {
  const blobs = new Map<string, Uint8Array>();
  const layerBlobs: Uint8Array[] = [];
  const descs = spec.layers.map((l) => {
    const c = l.compression ?? "gzip";
    const blob = (l.mangle ?? ((b) => b))(l.blob ?? compress(l.tar!, c));
    layerBlobs.push(blob);
    const digest = l.digest ?? sha256(blob);
    if (!l.omit) blobs.set(digest, blob);
    return { mediaType: l.mediaType ?? LAYER_MEDIA[c], digest, size: l.size ?? blob.length };
  });
  const config = enc.encode(
    spec.configText ??
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Cmd: ["/bin/true"] },
        rootfs: { type: "layers", diff_ids: spec.layers.map(diffIdOf) },
      }),
  );
  const configDigest = sha256(config);
  if (!spec.omitConfig) blobs.set(configDigest, config);
  const manifest = enc.encode(
    spec.manifestText ??
      JSON.stringify({
        schemaVersion: 2,
        mediaType: spec.manifestMediaType ?? "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: spec.configMediaType ?? "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
        layers: descs,
      }),
  );
  const manifestDigest = sha256(manifest);
  if (!spec.omitManifest) blobs.set(manifestDigest, manifest);
  const index = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: spec.indexManifestDigest ?? manifestDigest, size: manifest.length }],
    }),
  );
  return { blobs, index, config, layerBlobs };
}

function layoutFiles(b: Built): [string, Uint8Array][] {
  return [
    ["oci-layout", enc.encode('{"imageLayoutVersion":"1.0.0"}')],
    ["index.json", b.index],
    ...[...b.blobs].map(([d, bytes]) => [`blobs/sha256/${d.slice(7)}`, bytes] as [string, Uint8Array]),
  ];
}

/** One layout for several images: their blobs together (shared ones once), one index listing every manifest. */
function merged(specs: ImageSpec[]): Built {
  const built = specs.map(build);
  const manifests = built.flatMap((b) => JSON.parse(new TextDecoder().decode(b.index)).manifests);
  const index = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }));
  return { blobs: new Map(built.flatMap((b) => [...b.blobs])), index, config: built[0]!.config, layerBlobs: built[0]!.layerBlobs };
}

/** Writes an OCI image layout directory; returns "oci:DIR". */
export function ociLayout(dir: string, spec: ImageSpec): string {
  for (const [name, bytes] of layoutFiles(build(spec))) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return `oci:${dir}`;
}

/** A tar archive holding these files (directories implied). */
export function archiveOf(files: [string, Uint8Array][]): Uint8Array {
  return tar(files.map(([name, body]) => ({ name, body })));
}

/** Writes an oci-archive (a tar of the layout); returns "oci-archive:FILE". */
export function ociArchive(file: string, spec: ImageSpec): string {
  writeFileSync(file, archiveOf(layoutFiles(build(spec))));
  return `oci-archive:${file}`;
}

/** Writes an oci-archive of several images (`rl load` stores them all or none); returns "oci-archive:FILE". */
export function ociArchiveOf(file: string, specs: ImageSpec[]): string {
  writeFileSync(file, archiveOf(layoutFiles(merged(specs))));
  return `oci-archive:${file}`;
}

export interface DockerSpec extends ImageSpec {
  /** Replaces manifest.json's single entry fields. */
  entry?: { Config?: string; Layers?: string[]; RepoTags?: string[] };
  manifestJsonText?: string;
}

/** Writes a docker-archive (docker save format) with the layers as stored blobs; returns "docker-archive:FILE". */
export function dockerArchive(file: string, spec: DockerSpec): string {
  return dockerArchiveOf(file, [spec]);
}

/**
 * Writes a docker-archive of several images (one manifest.json entry each, tagged hostile:latest,
 * hostile:2, ...; members shared by several images written once); returns "docker-archive:FILE".
 */
export function dockerArchiveOf(file: string, specs: DockerSpec[]): string {
  const files = new Map<string, Uint8Array>();
  const entries = specs.map((spec, n) => {
    const b = build(spec);
    const configName = `${sha256(b.config).slice(7)}.json`;
    const layerNames = b.layerBlobs.map((blob, i) => {
      const name = `${diffIdOf(spec.layers[i]!).slice(7)}/layer.tar`;
      if (!spec.layers[i]!.omit) files.set(name, blob);
      return name;
    });
    if (!spec.omitConfig) files.set(configName, b.config);
    return { Config: configName, RepoTags: [n ? `hostile:${n + 1}` : "hostile:latest"], Layers: layerNames, ...spec.entry };
  });
  files.set("manifest.json", enc.encode(specs[0]!.manifestJsonText ?? JSON.stringify(entries)));
  writeFileSync(file, archiveOf([...files]));
  return `docker-archive:${file}`;
}

/** The same image in each transport rl reads, for inputs that any of them can carry. */
export function everyTransport(dir: string, spec: ImageSpec): string[] {
  mkdirSync(dir, { recursive: true });
  return [ociLayout(join(dir, "layout"), spec), ociArchive(join(dir, "oci.tar"), spec), dockerArchive(join(dir, "docker.tar"), spec)];
}

/**
 * A static program (built with gcc into `dir`) for a container that races path walks: it makes /d (a
 * directory with a file f, "inside"), and /s, a symlink to `hostDir`; prints "ready"; then swaps the
 * two names with renameat2(RENAME_EXCHANGE) in a loop. Returns its path (bind it read-only into the
 * container), or throws with gcc's complaint.
 */
export function swapRacer(dir: string, hostDir: string): string {
  const src = join(dir, "race.c");
  writeFileSync(
    src,
    `#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
  mkdir("/d", 0755);
  int fd = open("/d/f", O_WRONLY | O_CREAT | O_TRUNC, 0644); write(fd, "inside\\n", 7); close(fd);
  symlink("${hostDir}", "/s");
  puts("ready"); fflush(stdout);
  for (long i = 0; i < 2000000000L; i++) renameat2(AT_FDCWD, "/d", AT_FDCWD, "/s", RENAME_EXCHANGE);
  return 0;
}
`,
  );
  const bin = join(dir, "race");
  const cc = Bun.spawnSync(["gcc", "-O2", "-static", "-o", bin, src], { stderr: "pipe" });
  if (cc.exitCode !== 0 || cc.stderr.length) throw new Error(`gcc race.c: ${cc.stderr}`);
  return bin;
}
