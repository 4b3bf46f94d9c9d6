import type { Database } from "bun:sqlite";
import { writeAll } from "../write-all";
import { closeSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { RlError } from "../errors";
import { openLayer } from "../image/layer-stream";
import { normalizeName } from "../image/reference";
import { MEDIA } from "../image/types";
import { TarFileWriter } from "../image/tar-writer";
import type { Paths } from "../paths";
import { blobPath } from "./blob-path";
import { imageManifest, requireImage, type StoredImage } from "./images";

export type ArchiveFormat = "docker-archive" | "oci-archive";

interface Chosen {
  img: StoredImage;
  /** Names to write: the one the user gave, or all the image has. */
  names: string[];
}

function choose(d: Database, texts: string[]): Chosen[] {
  const out: Chosen[] = [];
  for (const t of texts) {
    const img = requireImage(d, t);
    const byName = img.names.includes(normalizeName(t)) && !img.id.slice(7).startsWith(t.replace(/^sha256:/, ""));
    const names = byName ? [normalizeName(t)] : img.names;
    const seen = out.find((c) => c.img.id === img.id);
    if (seen) seen.names = [...new Set([...seen.names, ...names])];
    else out.push({ img, names });
  }
  return out;
}

function blobChunks(path: string): AsyncIterable<Uint8Array> {
  return Bun.file(path).stream() as unknown as AsyncIterable<Uint8Array>;
}

async function writeOci(d: Database, p: Paths, chosen: Chosen[], tar: TarFileWriter): Promise<void> {
  const enc = new TextEncoder();
  await tar.add({ path: "oci-layout", type: "file", size: 30, mode: 0o644 }, enc.encode('{"imageLayoutVersion":"1.0.0"}'));
  await tar.add({ path: "blobs", type: "dir" });
  await tar.add({ path: "blobs/sha256", type: "dir" });
  const written = new Set<string>();
  const index: object[] = [];
  for (const { img, names } of chosen) {
    const m = imageManifest(d, img.id);
    for (const digest of [...m.value.layers.map((l) => l.digest), img.id, m.digest]) {
      if (written.has(digest)) continue;
      written.add(digest);
      const path = blobPath(p, digest);
      await tar.add({ path: `blobs/sha256/${digest.slice(7)}`, type: "file", size: statSync(path).size, mode: 0o644 }, blobChunks(path));
    }
    const desc = { mediaType: m.value.mediaType ?? MEDIA.ociManifest, digest: m.digest, size: m.bytes.length };
    if (!names.length) index.push(desc);
    for (const n of names) index.push({ ...desc, annotations: { "org.opencontainers.image.ref.name": n } });
  }
  const indexBytes = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: index }));
  await tar.add({ path: "index.json", type: "file", size: indexBytes.length, mode: 0o644 }, indexBytes);
}

/** docker-archive as `docker save` and podman write it: uncompressed layers named by diff_id. */
async function writeDocker(d: Database, p: Paths, chosen: Chosen[], tar: TarFileWriter): Promise<void> {
  const enc = new TextEncoder();
  const size = d.query("SELECT diff_size FROM layer_sizes WHERE chain_id = ?");
  const written = new Set<string>();
  const entries: object[] = [];
  for (const { img, names } of chosen) {
    const m = imageManifest(d, img.id);
    const cfgPath = blobPath(p, img.id);
    const cfgName = `${img.id.slice(7)}.json`;
    if (!written.has(cfgName)) {
      written.add(cfgName);
      await tar.add({ path: cfgName, type: "file", size: statSync(cfgPath).size, mode: 0o644 }, blobChunks(cfgPath));
    }
    const diffIds = img.config.rootfs.diff_ids;
    const layerNames: string[] = [];
    for (let i = 0; i < m.value.layers.length; i++) {
      const l = m.value.layers[i]!;
      const name = `${diffIds[i]!.slice(7)}.tar`;
      layerNames.push(name);
      if (written.has(name)) continue;
      written.add(name);
      const diffSize = (size.get(img.layers[i]!) as { diff_size: number } | null)?.diff_size;
      if (diffSize === undefined) throw new RlError(`the store has no size for layer ${diffIds[i]}: load the image again`);
      const file = blobPath(p, l.digest);
      const { chunks, verify } = openLayer({ file, offset: 0, size: l.size, mediaType: l.mediaType ?? "", digest: l.digest, diffId: diffIds[i]! });
      await tar.add({ path: name, type: "file", size: diffSize, mode: 0o644 }, chunks);
      verify();
    }
    entries.push({ Config: cfgName, RepoTags: names, Layers: layerNames });
  }
  const manifest = enc.encode(JSON.stringify(entries));
  await tar.add({ path: "manifest.json", type: "file", size: manifest.length, mode: 0o644 }, manifest);
}

/**
 * `save`: write images to `output` (atomically: a temp file beside it, renamed when complete) or to
 * stdout. oci-archive keeps the original manifest bytes, so digests survive a round trip.
 */
export async function saveImages(d: Database, p: Paths, texts: string[], format: ArchiveFormat, output: string | undefined): Promise<void> {
  const chosen = choose(d, texts);
  const tmp = output ? join(dirname(output), `.${process.pid}-${Date.now()}.rl-save.tmp`) : undefined;
  const fd = tmp ? openSync(tmp, "wx", 0o644) : 1;
  const tar = new TarFileWriter((b) => writeAll(fd, b));
  try {
    await (format === "oci-archive" ? writeOci : writeDocker)(d, p, chosen, tar);
    await tar.end();
    if (tmp) {
      closeSync(fd);
      renameSync(tmp, output!);
    }
  } catch (err) {
    if (tmp) {
      try {
        closeSync(fd);
      } catch {}
      rmSync(tmp, { force: true });
    }
    throw err;
  }
}
