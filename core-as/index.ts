/**
 * Typed loader for the AssemblyScript core (core-as/build/core.wasm, built by `bun install`).
 * The only way into the WASM: callers never see linear memory.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../cli/lib/package-root";

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
  shaCtxPtr(): number;
  shaInputPtr(): number;
  shaInputSize(): number;
  shaDigestPtr(): number;
  sha256Init(): void;
  sha256Update(len: number): void;
  sha256Final(): void;
  digestCompare(len: number): number;
  chainIds(count: number): number;
  pathInPtr(): number;
  pathOutPtr(): number;
  planPtr(): number;
  pathMax(): number;
  planPath(len: number): number;
  decideEntry(type: number, cls: number, existing: number, linkCls: number, linkExisting: number): number;
  zstdStatePtr(): number;
  zstdScanInit(): void;
  zstdScanUpdate(len: number): void;
  zstdScanFinish(): number;
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
  exp: CoreExports;
  parse: () => number;
  bytes: Uint8Array;
  view: DataView;
  block: number;
  out: number;
  shaCtx: number;
  shaInput: number;
  shaInputSize: number;
  shaDigest: number;
  pathIn: number;
  pathOut: number;
  plan: number;
  pathMax: number;
}

let core: Core | undefined;
const utf8 = new TextDecoder();

function loadCore(): Core {
  const path = join(PACKAGE_ROOT, "core-as", "build", "core.wasm");
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
    exp,
    parse: exp.parseTarHeader,
    bytes: new Uint8Array(buffer),
    view: new DataView(buffer),
    block: exp.blockPtr(),
    out: exp.outPtr(),
    shaCtx: exp.shaCtxPtr(),
    shaInput: exp.shaInputPtr(),
    shaInputSize: exp.shaInputSize(),
    shaDigest: exp.shaDigestPtr(),
    pathIn: exp.pathInPtr(),
    pathOut: exp.pathOutPtr(),
    plan: exp.planPtr(),
    pathMax: exp.pathMax(),
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

// ---- SHA-256 ----

const CTX_SIZE = 112; // must match core-as/assembly/sha256.ts
const DIGEST_TEXT_LEN = 71; // "sha256:" + 64 hex
const latin1 = new TextDecoder("latin1");
const utf8Encoder = new TextEncoder();

/** The WASM core has one context area; this digester's context is in it (the others are saved). */
let active: WasmSha256 | undefined;

/** Saves whichever context is in the core's area, so the area can be reused. */
function releaseContext(c: Core): void {
  if (active) active.saved.set(c.bytes.subarray(c.shaCtx, c.shaCtx + CTX_SIZE));
  active = undefined;
}

/**
 * A streaming SHA-256 in the WASM core. Any number may be in use at once: each keeps its 112-byte
 * context and swaps it into the core when it is fed after another one.
 */
export class WasmSha256 {
  readonly saved = new Uint8Array(CTX_SIZE);
  private done: Uint8Array | undefined;

  constructor() {
    const c = getCore();
    releaseContext(c);
    c.exp.sha256Init();
    active = this;
  }

  private claim(c: Core): void {
    if (active === this) return;
    releaseContext(c);
    c.bytes.set(this.saved, c.shaCtx);
    active = this;
  }

  update(data: Uint8Array): void {
    if (this.done) throw new Error("Cannot update a finished SHA-256");
    const c = getCore();
    this.claim(c);
    const max = c.shaInputSize;
    for (let off = 0; off < data.length; off += max) {
      const n = Math.min(max, data.length - off);
      c.bytes.set(off === 0 && n === data.length ? data : data.subarray(off, off + n), c.shaInput);
      c.exp.sha256Update(n);
    }
  }

  /** The 32-byte digest (the same array on every call). */
  sum(): Uint8Array {
    if (this.done) return this.done;
    const c = getCore();
    this.claim(c);
    c.exp.sha256Final();
    active = undefined;
    this.done = c.bytes.slice(c.shaDigest, c.shaDigest + 32);
    return this.done;
  }
}

export type DigestCheck = "match" | "mismatch" | "malformed";

/**
 * Compares a raw 32-byte SHA-256 with an expected "sha256:<64 lowercase hex>" digest in the core;
 * "malformed" when `expected` is not such a digest.
 */
export function compareDigest(raw: Uint8Array, expected: string): DigestCheck {
  if (raw.length !== 32) throw new Error(`Cannot compare digests: ${raw.length} bytes is not a SHA-256`);
  const c = getCore();
  const text = utf8Encoder.encode(expected);
  if (text.length !== DIGEST_TEXT_LEN) return "malformed";
  c.bytes.set(raw, c.shaDigest);
  c.bytes.set(text, c.shaInput);
  const r = c.exp.digestCompare(text.length);
  return r === 0 ? "match" : r === 1 ? "mismatch" : "malformed";
}

/**
 * Chain ids of a layer stack (OCI image spec), computed in the core: chain[0] = diff[0],
 * chain[n] = sha256(chain[n-1] + " " + diff[n]). Throws on a diff id that is not "sha256:<hex>".
 */
export function chainIdsOf(diffIds: readonly string[]): string[] {
  const c = getCore();
  if (diffIds.length * DIGEST_TEXT_LEN > c.shaInputSize) throw new Error(`Cannot compute chain ids: ${diffIds.length} layers is too many`);
  releaseContext(c); // the computation uses the context area
  diffIds.forEach((d, i) => {
    const text = utf8Encoder.encode(d);
    if (text.length !== DIGEST_TEXT_LEN) throw new Error(`Cannot compute chain ids: invalid diff_id ${JSON.stringify(d)}`);
    c.bytes.set(text, c.shaInput + i * DIGEST_TEXT_LEN);
  });
  const bad = c.exp.chainIds(diffIds.length);
  if (bad >= 0) throw new Error(`Cannot compute chain ids: invalid diff_id ${JSON.stringify(diffIds[bad])}`);
  return diffIds.map((_, i) => latin1.decode(c.bytes.subarray(c.shaInput + i * DIGEST_TEXT_LEN, c.shaInput + (i + 1) * DIGEST_TEXT_LEN)));
}

// ---- Layer entries ----

/** How planEntryPath classifies the last component of an entry name. */
export type NameClass = "root" | "plain" | "whiteout" | "opaque" | "aufs-meta";
const NAME_CLASSES: readonly NameClass[] = ["root", "plain", "whiteout", "opaque", "aufs-meta"];

export type EntryKind = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";
const ENTRY_KINDS: readonly EntryKind[] = ["file", "dir", "symlink", "hardlink", "char", "block", "fifo", "other"];

/** What exists at a path in the layer directory (a whiteout is a char 0/0 device). */
export type Existing = "none" | "dir" | "whiteout" | "other";
const EXISTING: readonly Existing[] = ["none", "dir", "whiteout", "other"];

export type EntryAction = "create" | "replace" | "update-dir" | "whiteout" | "opaque" | "skip-device" | "skip" | "root";
const ACTIONS: readonly EntryAction[] = ["create", "replace", "update-dir", "whiteout", "opaque", "skip-device", "skip", "root"];

/** Why an entry is refused (core-as/assembly/layer-entry.ts REJECT_*). */
export type RejectReason =
  | "absolute"
  | "escape"
  | "too-long"
  | "nul"
  | "bad-whiteout"
  | "duplicate"
  | "replaces-dir"
  | "whiteout-same-layer"
  | "link-target"
  | "root-not-dir"
  | "empty";
const REASONS: readonly (RejectReason | "")[] = ["", "absolute", "escape", "too-long", "nul", "bad-whiteout", "duplicate", "replaces-dir", "whiteout-same-layer", "link-target", "root-not-dir", "empty"];

export interface EntryPath {
  /** Normalized, relative to the layer directory: "a/b"; "" for the root. */
  path: string;
  /** "a" for "a/b"; "" at the top level. */
  parent: string;
  /** Last component. */
  name: string;
  cls: NameClass;
  /** For a whiteout: the name it hides (in the same parent). */
  hides: string;
}

/** Normalizes and classifies a tar entry name in the core; a refusal comes back as its reason. */
export function planEntryPath(name: string): EntryPath | { reject: RejectReason } {
  const c = getCore();
  const bytes = utf8Encoder.encode(name);
  if (bytes.length > c.pathMax) return { reject: "too-long" };
  c.bytes.set(bytes, c.pathIn);
  const r = c.exp.planPath(bytes.length);
  if (r !== 0) return { reject: REASONS[r] as RejectReason };
  const v = c.view;
  const u32 = (off: number) => v.getUint32(c.plan + off, true);
  const text = (off: number, len: number) => utf8.decode(c.bytes.subarray(c.pathOut + off, c.pathOut + off + len));
  const len = u32(0);
  return {
    path: text(0, len),
    parent: text(0, u32(4)),
    name: text(u32(8), u32(12)),
    cls: NAME_CLASSES[u32(16)]!,
    hides: text(u32(20), u32(24)),
  };
}

/**
 * The core's decision for an entry: what to do given its kind, its name's class and what exists at
 * its path (for a whiteout: at the name it hides); for a hardlink also its target's class and state.
 */
export function decideEntry(
  kind: EntryKind,
  cls: NameClass,
  existing: Existing,
  link: { cls: NameClass; existing: Existing } = { cls: "root", existing: "none" },
): EntryAction | { reject: RejectReason } {
  const r = getCore().exp.decideEntry(ENTRY_KINDS.indexOf(kind), NAME_CLASSES.indexOf(cls), EXISTING.indexOf(existing), NAME_CLASSES.indexOf(link.cls), EXISTING.indexOf(link.existing));
  return r >= 0 ? ACTIONS[r]! : { reject: REASONS[-r] as RejectReason };
}

// ---- zstd frame structure ----

const ZSTATE_BYTES = 32; // must match core-as/assembly/zstd-frames.ts

/**
 * Follows a zstd stream's frames and blocks (without decompressing) to tell whether it ends at a
 * frame boundary: Bun's zstd decompressor ends quietly when its input is cut short.
 */
export class ZstdFrameScanner {
  private readonly state = new Uint8Array(ZSTATE_BYTES);

  constructor() {
    const c = getCore();
    const at = c.exp.zstdStatePtr();
    c.exp.zstdScanInit();
    this.state.set(c.bytes.subarray(at, at + ZSTATE_BYTES));
  }

  update(data: Uint8Array): void {
    const c = getCore();
    const at = c.exp.zstdStatePtr();
    c.bytes.set(this.state, at);
    for (let off = 0; off < data.length; off += c.shaInputSize) {
      const n = Math.min(c.shaInputSize, data.length - off);
      c.bytes.set(data.subarray(off, off + n), c.shaInput);
      c.exp.zstdScanUpdate(n);
    }
    this.state.set(c.bytes.subarray(at, at + ZSTATE_BYTES));
  }

  /** "ok" when the stream ended right after a complete frame. */
  finish(): "ok" | "bad" | "truncated" {
    const c = getCore();
    c.bytes.set(this.state, c.exp.zstdStatePtr());
    const r = c.exp.zstdScanFinish();
    return r === 0 ? "ok" : r === 1 ? "bad" : "truncated";
  }
}
