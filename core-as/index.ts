/**
 * Typed loader for the AssemblyScript core (core-as/build/core.wasm, built by `bun install`).
 * The only way into the WASM: callers never see linear memory.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type TarFormat = "v7" | "ustar" | "gnu" | "star";

/** One parsed 512-byte tar header, before pax / GNU long-name records are applied. */
export interface TarHeader {
  /** Name with the ustar prefix joined ("prefix/name"). */
  name: string;
  linkname: string;
  /** The typeflag character; "\0" for old regular files. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch; may be negative. */
  mtime: number;
  devmajor: number;
  devminor: number;
  format: TarFormat;
}

interface CoreExports {
  memory: WebAssembly.Memory;
  blockPtr(): number;
  outPtr(): number;
  parseTarHeader(): number;
}

// Must match core-as/assembly/tar-header.ts.
const OUT_SIZE = 0;
const OUT_MTIME = 8;
const OUT_UID = 16;
const OUT_GID = 24;
const OUT_MODE = 32;
const OUT_DEVMAJOR = 40;
const OUT_DEVMINOR = 48;
const OUT_TYPEFLAG = 64;
const OUT_NAME_LEN = 68;
const OUT_LINK_LEN = 72;
const OUT_FORMAT = 76;
const OUT_BAD_FIELD = 80;
const OUT_NAME = 128;
const OUT_LINK = 384;
const STATUS_OK = 0;
const STATUS_END = 1;
const STATUS_BAD_CHECKSUM = -1;

const FORMATS: readonly TarFormat[] = ["v7", "ustar", "gnu", "star"];
const FIELDS = ["", "checksum", "size", "mtime", "uid", "gid", "mode", "devmajor", "devminor"];

interface Core {
  parse: () => number;
  bytes: Uint8Array;
  view: DataView;
  block: number;
  out: number;
}

let core: Core | undefined;
const utf8 = new TextDecoder();

function loadCore(): Core {
  const path = join(import.meta.dir, "build", "core.wasm");
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new Error(`Cannot load the WASM core: ${path} is missing (run \`bun install\`): ${(err as Error).message}`);
  }
  const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), {
    env: {
      abort() {
        throw new Error("Cannot run the WASM core: abort");
      },
    },
  });
  const exp = instance.exports as unknown as CoreExports;
  // The stub runtime never allocates, so memory never grows and these views stay valid.
  const buffer = exp.memory.buffer;
  return {
    parse: exp.parseTarHeader,
    bytes: new Uint8Array(buffer),
    view: new DataView(buffer),
    block: exp.blockPtr(),
    out: exp.outPtr(),
  };
}

function getCore(): Core {
  core ??= loadCore();
  return core;
}

/**
 * Parses one 512-byte tar header block (only its first 512 bytes are read).
 * Returns "end" for an all-zero block; throws on a bad checksum or numeric field.
 */
export function parseTarHeader(block: Uint8Array): TarHeader | "end" {
  if (block.length < 512) throw new Error(`Cannot parse tar header: block is ${block.length} bytes, not 512`);
  const c = getCore();
  c.bytes.set(block.length === 512 ? block : block.subarray(0, 512), c.block);
  const status = c.parse();
  if (status === STATUS_END) return "end";
  const v = c.view;
  const out = c.out;
  if (status !== STATUS_OK) {
    if (status === STATUS_BAD_CHECKSUM) throw new Error("Cannot parse tar header: invalid tar header checksum");
    const field = FIELDS[v.getUint32(out + OUT_BAD_FIELD, true)] ?? "numeric";
    throw new Error(`Cannot parse tar header: invalid ${field} field`);
  }
  const nameLen = v.getUint32(out + OUT_NAME_LEN, true);
  const linkLen = v.getUint32(out + OUT_LINK_LEN, true);
  return {
    name: utf8.decode(c.bytes.subarray(out + OUT_NAME, out + OUT_NAME + nameLen)),
    linkname: linkLen === 0 ? "" : utf8.decode(c.bytes.subarray(out + OUT_LINK, out + OUT_LINK + linkLen)),
    typeflag: String.fromCharCode(v.getUint32(out + OUT_TYPEFLAG, true)),
    mode: v.getFloat64(out + OUT_MODE, true),
    uid: v.getFloat64(out + OUT_UID, true),
    gid: v.getFloat64(out + OUT_GID, true),
    size: v.getFloat64(out + OUT_SIZE, true),
    mtime: v.getFloat64(out + OUT_MTIME, true),
    devmajor: v.getFloat64(out + OUT_DEVMAJOR, true),
    devminor: v.getFloat64(out + OUT_DEVMINOR, true),
    format: FORMATS[v.getUint32(out + OUT_FORMAT, true)] ?? "v7",
  };
}
