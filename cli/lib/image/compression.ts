import { RlError } from "../errors";
import { humanSize } from "../format";

export type Compression = "gzip" | "zstd" | "none";

/** How a blob is compressed, from its first bytes. */
export function sniff(head: Uint8Array): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "none";
}

/** Compressions rl recognises but cannot read (node:zlib has gzip, deflate, brotli and zstd only): for a clear refusal. */
export function unreadableCompression(head: Uint8Array): "xz" | "bzip2" | undefined {
  if (head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58 && head[4] === 0x5a && head[5] === 0x00) return "xz";
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) return "bzip2";
  return undefined;
}

/** The error for an archive in such a compression, with the way around it. */
export function unreadableCompressionError(what: string, kind: "xz" | "bzip2"): RlError {
  const tool = kind === "xz" ? "xz" : "bzip2";
  return new RlError(`${what} is ${kind}-compressed, which rl cannot read (Bun's zlib has gzip and zstd only): decompress it first, e.g. ${tool} -dc FILE | rl load`);
}

const GIB = 1 << 30;

/**
 * The most bytes a compressed layer of `compressedSize` bytes may unpack to. No manifest says how large a
 * layer is uncompressed (its diff_id is checked only at the end), so a 4 MB gzip layer can write 4 GiB
 * before it is found false. Real layers shrink 2-10 times; a hundredfold takes files that are almost all
 * one repeated byte. The limit: RL_LAYER_MAX_RATIO (100) times the compressed size, and never less than
 * RL_LAYER_MAX_SIZE (1 GiB), which lets any small layer through, and which a user with such files raises.
 */
export function expansionLimit(compressedSize: number, env: NodeJS.ProcessEnv = process.env): { limit: number; ratio: number; floor: number } {
  const ratio = positive(env.RL_LAYER_MAX_RATIO) ?? 100;
  const floor = positive(env.RL_LAYER_MAX_SIZE) ?? GIB;
  return { limit: Math.max(floor, ratio * compressedSize), ratio, floor };
}

function positive(text: string | undefined): number | undefined {
  const n = Number(text);
  return text && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** The error for a layer that went past its expansionLimit(): stopped there, before it filled the disk. */
export function expansionError(layer: string, compressedSize: number, env: NodeJS.ProcessEnv = process.env): RlError {
  const { limit, ratio, floor } = expansionLimit(compressedSize, env);
  return new RlError(
    `layer ${layer} unpacks to more than ${humanSize(limit)} from ${humanSize(compressedSize)} compressed (the larger of ${ratio} times its size and ${humanSize(floor)}): ` +
      `refused as a decompression bomb; RL_LAYER_MAX_SIZE (bytes) and RL_LAYER_MAX_RATIO raise the limit`,
  );
}
