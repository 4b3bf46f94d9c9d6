import type { Database } from "bun:sqlite";
import { writeAll } from "../write-all";
import { statSync } from "node:fs";
import { messageOf, RlError } from "../errors";
import { bytesMatch, digestMatches, newDigester } from "../image/digest";
import { isClosedOutput, openOutput, outputTarget, writingOutput } from "../output-file";
import { openLayer } from "../image/layer-stream";
import { normalizeName } from "../image/reference";
import { MEDIA } from "../image/types";
import { TarFileWriter } from "../image/tar-writer";
import type { Paths } from "../paths";
import { pauseForTests } from "../test-pause";
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

/** A blob of the store found damaged while it was being written out. */
function damaged(digest: string, why: string): RlError {
  return new RlError(`the stored blob ${digest} is damaged (${why}): pull or load the image again`);
}

/** Before anything is written: every blob is there with the size its descriptor gives (a truncated one is the usual damage). */
function checkSizes(p: Paths, blobs: { digest: string; size: number }[]): void {
  for (const { digest, size } of blobs) {
    let actual: number;
    try {
      actual = statSync(blobPath(p, digest)).size;
    } catch {
      throw damaged(digest, "it is missing");
    }
    if (actual !== size) throw damaged(digest, `${actual} bytes, its descriptor says ${size}`);
  }
}

/** A stored blob's bytes as they are written, hashed on the way: a blob that does not match its digest fails the save. */
async function* verifiedBlob(p: Paths, digest: string, size: number): AsyncGenerator<Uint8Array> {
  const hash = newDigester();
  let n = 0;
  for await (const c of Bun.file(blobPath(p, digest)).stream() as unknown as AsyncIterable<Uint8Array>) {
    n += c.length;
    if (n > size) throw damaged(digest, `more than the ${size} bytes its descriptor says`);
    hash.update(c);
    yield c;
  }
  if (n !== size) throw damaged(digest, `${n} bytes, its descriptor says ${size}`);
  if (!digestMatches(hash, digest)) throw damaged(digest, `its content hashes to ${hash.digest()}`);
}

/** The manifest as stored in the database, checked against its digest. */
function manifestOf(d: Database, img: StoredImage): ReturnType<typeof imageManifest> {
  const m = imageManifest(d, img.id);
  if (!bytesMatch(m.bytes, m.digest)) throw new RlError(`the stored manifest ${m.digest} of image ${img.id.slice(7, 19)} is damaged: pull or load the image again`);
  return m;
}

async function writeOci(d: Database, p: Paths, chosen: Chosen[], tar: TarFileWriter): Promise<void> {
  const enc = new TextEncoder();
  await tar.add({ path: "oci-layout", type: "file", size: 30, mode: 0o644 }, enc.encode('{"imageLayoutVersion":"1.0.0"}'));
  await tar.add({ path: "blobs", type: "dir" });
  await tar.add({ path: "blobs/sha256", type: "dir" });
  const written = new Set<string>();
  const index: object[] = [];
  const manifests = chosen.map(({ img }) => manifestOf(d, img));
  checkSizes(p, manifests.flatMap((m) => [...m.value.layers, m.value.config]));
  for (const [i, { names }] of chosen.entries()) {
    const m = manifests[i]!;
    for (const { digest, size } of [...m.value.layers, m.value.config]) {
      if (written.has(digest)) continue;
      written.add(digest);
      await tar.add({ path: `blobs/sha256/${digest.slice(7)}`, type: "file", size, mode: 0o644 }, verifiedBlob(p, digest, size));
    }
    if (!written.has(m.digest)) {
      written.add(m.digest);
      await tar.add({ path: `blobs/sha256/${m.digest.slice(7)}`, type: "file", size: m.bytes.length, mode: 0o644 }, m.bytes);
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
  const manifests = chosen.map(({ img }) => manifestOf(d, img));
  checkSizes(p, manifests.flatMap((m) => [...m.value.layers, m.value.config]));
  for (const [i, { img, names }] of chosen.entries()) {
    const m = manifests[i]!;
    const cfgName = `${img.id.slice(7)}.json`;
    if (!written.has(cfgName)) {
      written.add(cfgName);
      await tar.add({ path: cfgName, type: "file", size: m.value.config.size, mode: 0o644 }, verifiedBlob(p, img.id, m.value.config.size));
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
      try {
        await tar.add({ path: name, type: "file", size: diffSize, mode: 0o644 }, chunks);
        verify();
      } catch (err) {
        if (isClosedOutput(err)) throw err;
        throw damaged(l.digest, messageOf(err));
      }
    }
    entries.push({ Config: cfgName, RepoTags: names, Layers: layerNames });
  }
  const manifest = enc.encode(JSON.stringify(entries));
  await tar.add({ path: "manifest.json", type: "file", size: manifest.length, mode: 0o644 }, manifest);
}

/**
 * `save`: write images to `output` (atomically: a temp file beside it, renamed when complete) or to
 * stdout, streamed. Every blob is checked against its descriptor as it is written: a damaged one fails
 * the save (and no file is left). oci-archive keeps the original manifest bytes, so digests survive a
 * round trip.
 */
export async function saveImages(d: Database, p: Paths, texts: string[], format: ArchiveFormat, output: string | undefined): Promise<void> {
  const chosen = choose(d, texts);
  const target = outputTarget(output);
  await writingOutput(target, async () => {
    const out = openOutput(target);
    pauseForTests("RL_TEST_PAUSE_SAVE");
    const tar = new TarFileWriter((b) => writeAll(out.fd, b));
    try {
      await (format === "oci-archive" ? writeOci : writeDocker)(d, p, chosen, tar);
      await tar.end();
      out.commit();
    } catch (err) {
      out.abort();
      throw err;
    }
  });
}
