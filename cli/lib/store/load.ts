import type { Database } from "bun:sqlite";
import { writeAll } from "../write-all";
import { closeSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { RlError } from "../errors";
import { archiveFiles, readRange, type FileSet } from "../image/files";
import { resolveDockerArchive } from "../image/docker-archive";
import { parseJson, resolveDescriptor } from "../image/oci-layout";
import { hostPlatform } from "../image/platform";
import { normalizeName } from "../image/reference";
import { sniff, unreadableCompression, unreadableCompressionError } from "../image/compression";
import type { Index, ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import type { IdMapping } from "../security/idmap";
import { prepareImage, recordImages, type PreparedImage } from "./store-image";
import { withStoreWrite } from "./store-write";
import { tmpName } from "./tmp-name";

const REF_NAME = "org.opencontainers.image.ref.name";

/**
 * Copy a stream into `dest`, decompressing it when it is gzip or zstd (sniffed), so archives can be
 * read in place by member offsets. Chunk by chunk: never the whole archive in memory.
 */
export async function spoolUncompressed(source: AsyncIterable<Uint8Array>, dest: string): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  async function* all() {
    if (!first.done) yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const unreadable = unreadableCompression(head);
  if (unreadable) throw unreadableCompressionError("the archive", unreadable);
  const kind = sniff(head);
  let chunks: AsyncIterable<Uint8Array> = all();
  if (kind !== "none") chunks = Readable.from(all()).pipe(kind === "gzip" ? createGunzip({ chunkSize: 1 << 18 }) : createZstdDecompress({ chunkSize: 1 << 18 }));
  const fd = openSync(dest, "wx", 0o600);
  try {
    for await (const c of chunks) {
      writeAll(fd, c instanceof Uint8Array ? c : new Uint8Array(c));
    }
  } finally {
    closeSync(fd);
  }
}

/** Every image in an archive: all entries of a docker-archive's manifest.json, or of an OCI index.json. */
export async function imagesInArchive(files: FileSet, source: string): Promise<ResolvedImage[]> {
  const manifest = files.locate("manifest.json");
  if (manifest) {
    const entries = parseJson<unknown[]>(await readRange(manifest), `${files.describe}/manifest.json`);
    if (!Array.isArray(entries)) throw new RlError(`${files.describe}/manifest.json is not a list of images`);
    const out = [];
    for (let i = 0; i < entries.length; i++) out.push(await resolveDockerArchive(files, `@${i}`, source));
    return out;
  }
  const index = files.locate("index.json");
  if (!index) throw new RlError(`${files.describe} is not an image archive: it has neither manifest.json (docker-archive) nor index.json (oci-archive)`);
  const top = parseJson<Index>(await readRange(index), `${files.describe}/index.json`);
  const out = new Map<string, ResolvedImage>();
  for (const desc of top.manifests ?? []) {
    const img = out.get(desc.digest) ?? (await resolveDescriptor(files, desc, hostPlatform(), source));
    const ref = desc.annotations?.[REF_NAME];
    // A ref that is a full name ("alpine:3.20", "quay.io/x/y") names the image; a bare tag does not.
    if (ref && /[:/]/.test(ref) && !img.names.includes(normalizeName(ref))) img.names.push(normalizeName(ref));
    out.set(desc.digest, img);
  }
  if (!out.size) throw new RlError(`${files.describe} holds no images`);
  return [...out.values()];
}

/**
 * `load`: store every image of a docker-archive or oci-archive (gzip or zstd compressed too) read from
 * `file`, or from `stdin` when no file is given, all or none of them. Returns what podman prints after
 * "Loaded image: ".
 */
export async function loadArchive(d: Database, p: Paths, file: string | undefined, mapping: IdMapping): Promise<string[]> {
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  let path = file;
  let spooled: string | undefined;
  try {
    const input = file ? Bun.file(file) : Bun.stdin;
    const st = file ? statSync(file, { throwIfNoEntry: false }) : undefined;
    if (file && !st) throw new RlError(`${file}: no such file`);
    if (st?.isDirectory()) throw new RlError(`it is a directory: rl load reads a docker-archive or oci-archive file (for an OCI layout use rl run oci:DIR)`);
    // A pipe (-i /dev/stdin, a FIFO) is read like stdin; a device (/dev/zero) is no archive.
    if (st && !st.isFile() && !st.isFIFO()) throw new RlError(`${file} is not a tar archive: it is ${st.isCharacterDevice() ? "a character device" : st.isBlockDevice() ? "a block device" : "a socket"}`);
    const head = st?.isFile() ? new Uint8Array(await input.slice(0, 6).arrayBuffer()) : undefined;
    const unreadable = head && unreadableCompression(head);
    if (unreadable) throw unreadableCompressionError(file!, unreadable);
    if (!head || sniff(head) !== "none") {
      spooled = `${tmpName(p, "load")}.tar`;
      await spoolUncompressed(input.stream() as unknown as AsyncIterable<Uint8Array>, spooled);
      path = spooled;
    }
    const files = await archiveFiles(path!).catch((err) => {
      throw new RlError(`${file ?? "stdin"} is not a tar archive: ${(err as Error).message}`);
    });
    const images = await imagesInArchive({ ...files, describe: file ?? "stdin" }, file ?? "stdin");
    // All or nothing: every image is prepared, then all are recorded in one transaction; a failure
    // removes what the earlier images created.
    const stored = await withStoreWrite(d, p, async (w) => {
      const prepared: PreparedImage[] = [];
      for (const img of images) prepared.push(await prepareImage(w, img, mapping));
      return w.commit(() => recordImages(w, prepared));
    });
    return images.flatMap((img, i) => (img.names.length ? img.names : [stored[i]!.id]));
  } finally {
    if (spooled) rmSync(spooled, { force: true });
  }
}
