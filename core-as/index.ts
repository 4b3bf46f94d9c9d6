/**
 * Typed loader for the AssemblyScript core (core-as/build/core.wasm, built by `bun install`).
 * The only way into the WASM: callers never see linear memory.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../cli/lib/package-root";

interface CoreExports {
  memory: WebAssembly.Memory;
  blockPtr(): number;
  outPtr(): number;
  tarStatePtr(): number;
  tarStateSize(): number;
  tarDataPtr(): number;
  tarHeader(): number;
  tarMetaEnd(): number;
  tarReset(): void;
  tarReserve(bytes: number): number;
  tarSparseBlock(): number;
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
  seccompCompile(): number;
  seccompOutPtr(): number;
}

interface Core {
  exp: CoreExports;
  /** Views of linear memory: tar calls renew them when the memory grew (see refreshViews). */
  bytes: Uint8Array;
  view: DataView;
  block: number;
  out: number;
  tarState: number;
  tarStateSize: number;
  tarData: number;
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
  // The stub runtime never allocates; memory grows only for tar metadata (see refreshViews).
  const buffer = exp.memory.buffer;
  return {
    exp,
    bytes: new Uint8Array(buffer),
    view: new DataView(buffer),
    block: exp.blockPtr(),
    out: exp.outPtr(),
    tarState: exp.tarStatePtr(),
    tarStateSize: exp.tarStateSize(),
    tarData: exp.tarDataPtr(),
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

// ---- Tar headers ----

// Must match core-as/assembly/tar-header.ts and tar-stream.ts.
const OUT_SIZE = 0;
const OUT_MTIME = 8;
const OUT_UID = 16;
const OUT_GID = 24;
const OUT_MODE = 32;
const OUT_DEVMAJOR = 40;
const OUT_DEVMINOR = 48;
const OUT_SPARSE_SIZE = 56;
const OUT_TYPEFLAG = 64;
const OUT_BAD_FIELD = 80;
const OUT_TYPE = 84;
const OUT_PATH_PTR = 88;
const OUT_PATH_LEN = 92;
const OUT_LINKPATH_PTR = 96;
const OUT_LINKPATH_LEN = 100;
const OUT_XATTR_PTR = 104;
const OUT_XATTR_COUNT = 108;
const OUT_META_PTR = 112;
const OUT_ERR_KEY_PTR = 116;
const OUT_ERR_KEY_LEN = 120;
const OUT_ERR_VALUE_PTR = 124;
const OUT_ERR_VALUE_LEN = 128;
const OUT_SPARSE = 132;
const OUT_SPARSE_PTR = 136;
const OUT_SPARSE_COUNT = 140;
const SPARSE_EXT_BLOCKS = 2;
const SPARSE_DATA_MAP = 3;
const STATUS_SPARSE_MORE = 3;
const S_USED = 0;
const S_OPEN = 4;
const S_PENDING = 8;
const XATTR_DELETED = 0xffffffff;
const STATUS_OK = 0;
const STATUS_END = 1;
const STATUS_META = 2;

const FIELDS = ["", "checksum", "size", "mtime", "uid", "gid", "mode", "devmajor", "devminor"];
/** Decodes xattr names cut from the middle of a pax key, where a byte order mark is text. */
const utf8KeepBom = new TextDecoder("utf-8", { ignoreBOM: true });

/** One tar entry's header with the pax and GNU metadata records before it applied. */
export interface TarEntryHeader {
  /** As stored (pax / GNU long names applied); directories lose their trailing "/". */
  path: string;
  type: EntryKind;
  /** Symlink target or hardlink source; "" when none. */
  linkpath: string;
  /** Permission bits (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes of data that follow the header (0 for links, devices, fifos and directories). */
  size: number;
  /** Seconds since the epoch; fractional when a pax header gave it so. */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** From pax SCHILY.xattr.* (and LIBARCHIVE.xattr.*) records. */
  xattrs: Record<string, Uint8Array>;
  /** A GNU sparse file: the data that follows is its segments' bytes, one after the other. */
  sparse?: SparseMap;
}

/** Where a sparse file's data goes: the rest of its `size` bytes are holes. */
export interface SparseMap {
  size: number;
  /** In order, not overlapping, inside the file. */
  segments: { offset: number; length: number }[];
}

/** After the memory grew, the old views are detached (length 0): make new ones. */
function refreshViews(c: Core): void {
  if (c.bytes.length !== 0) return;
  c.bytes = new Uint8Array(c.exp.memory.buffer);
  c.view = new DataView(c.exp.memory.buffer);
}

/** The message for a status of tarHeader() or tarMetaEnd() (STATUS_* in tar-header.ts, tar-stream.ts). */
function tarError(c: Core, status: number): Error {
  const v = c.view;
  const u32 = (off: number) => v.getUint32(c.out + off, true);
  const text = (ptrOff: number, lenOff: number) => utf8.decode(c.bytes.subarray(u32(ptrOff), u32(ptrOff) + u32(lenOff)));
  switch (status) {
    case -1:
      return new Error("Cannot parse tar header: invalid tar header checksum");
    case -2:
      return new Error(`Cannot parse tar header: invalid ${FIELDS[u32(OUT_BAD_FIELD)] ?? "numeric"} field`);
    case -3:
      return new Error("Cannot read pax header: record has no length");
    case -4:
      return new Error("Cannot read pax header: invalid record length");
    case -5:
      return new Error("Cannot read pax header: record has no '='");
    case -6:
      return new Error(`Cannot read pax header: invalid ${text(OUT_ERR_KEY_PTR, OUT_ERR_KEY_LEN)} "${text(OUT_ERR_VALUE_PTR, OUT_ERR_VALUE_LEN)}"`);
    case -7:
      return new Error(`Cannot read pax header: invalid xattr name in ${text(OUT_ERR_KEY_PTR, OUT_ERR_KEY_LEN)}`);
    case -8:
      return new Error(`Cannot read tar entry ${text(OUT_PATH_PTR, OUT_PATH_LEN)}: invalid GNU sparse map`);
    case -9:
      return new Error(`Cannot read tar entry: ${String.fromCharCode(u32(OUT_TYPEFLAG))} header of ${v.getFloat64(c.out + OUT_SIZE, true)} bytes is too large`);
    case -10:
      return new Error(`Cannot read tar entry ${text(OUT_PATH_PTR, OUT_PATH_LEN)}: negative size`);
    case -11:
      return new Error("Cannot read tar entry: its metadata entries do not fit in memory");
    case -12:
      return new Error("Cannot read tar entry: unsupported GNU sparse format version");
  }
  return new Error(`Cannot read tar entry: unexpected status ${status} from the WASM core`);
}

/** The tar reader whose state is in the core's areas; the others have theirs saved. */
let activeTar: TarHeaderReader | undefined;

/**
 * Reads the headers of one tar stream in the core: each 512-byte block goes to header(); the
 * metadata entries (pax 'x', GNU 'L'/'K') are kept in the core and applied to the entry they
 * precede; a global pax header ('g') is checked, then dropped (docker and podman apply it to no
 * entry either). Any number may be in use at once: each swaps its state into the core when it is
 * used after another one.
 */
export class TarHeaderReader {
  /** Size of the metadata body header() asked for with "meta". */
  metaSize = 0;
  private metaAt = 0;
  private metaFed = 0;
  private saved: Uint8Array | undefined;
  /**
   * Where the rest of the last entry's sparse map is, when header() could not read all of it: in
   * blocks right after the header (old GNU; not counted in the entry's size) or at the start of its
   * data (pax 1.0). Feed those blocks to sparseBlock().
   */
  sparseMapIn: "header-blocks" | "data" | undefined;
  private sparse: SparseMap | undefined;
  private sparsePath = "";

  constructor() {
    const c = getCore();
    releaseTar(c);
    c.exp.tarReset();
    activeTar = this;
  }

  /** Copies this reader's state out of the core (its state and the data area in use). */
  save(c: Core): void {
    const v = c.view;
    const extent = v.getUint32(c.tarState + S_USED, true) + v.getUint32(c.tarState + S_OPEN, true);
    const saved = new Uint8Array(c.tarStateSize + extent);
    saved.set(c.bytes.subarray(c.tarState, c.tarState + c.tarStateSize));
    saved.set(c.bytes.subarray(c.tarData, c.tarData + extent), c.tarStateSize);
    this.saved = saved;
  }

  private claim(c: Core): void {
    if (activeTar === this) return;
    releaseTar(c);
    const saved = this.saved!;
    if (!c.exp.tarReserve(saved.length - c.tarStateSize)) throw tarError(c, -11);
    refreshViews(c);
    c.bytes.set(saved.subarray(0, c.tarStateSize), c.tarState);
    c.bytes.set(saved.subarray(c.tarStateSize), c.tarData);
    this.saved = undefined;
    activeTar = this;
  }

  /**
   * Reads one header block (the first 512 bytes of `block`): "end" for an all-zero block, "meta"
   * for a metadata entry (feed its metaSize bytes to metaData(), then call metaEnd()), else the
   * entry. Throws on a bad checksum or field and on invalid metadata.
   */
  header(block: Uint8Array): TarEntryHeader | "end" | "meta" {
    if (block.length < 512) throw new Error(`Cannot parse tar header: block is ${block.length} bytes, not 512`);
    const c = getCore();
    this.claim(c);
    c.bytes.set(block.length === 512 ? block : block.subarray(0, 512), c.block);
    const status = c.exp.tarHeader();
    refreshViews(c);
    const v = c.view;
    const out = c.out;
    if (status === STATUS_OK) {
      const pathAt = v.getUint32(out + OUT_PATH_PTR, true);
      const linkAt = v.getUint32(out + OUT_LINKPATH_PTR, true);
      const linkLen = v.getUint32(out + OUT_LINKPATH_LEN, true);
      const xattrCount = v.getUint32(out + OUT_XATTR_COUNT, true);
      const xattrs: Record<string, Uint8Array> = {};
      for (let i = 0, t = v.getUint32(out + OUT_XATTR_PTR, true); i < xattrCount; i++, t += 16) {
        const nameAt = v.getUint32(t, true);
        const name = utf8KeepBom.decode(c.bytes.subarray(nameAt, nameAt + v.getUint32(t + 4, true)));
        const valueAt = v.getUint32(t + 8, true);
        const valueLen = v.getUint32(t + 12, true);
        // Later records win; an empty value removes the name.
        if (valueLen === XATTR_DELETED) delete xattrs[name];
        else xattrs[name] = c.bytes.slice(valueAt, valueAt + valueLen);
      }
      const entry: TarEntryHeader = {
        path: utf8.decode(c.bytes.subarray(pathAt, pathAt + v.getUint32(out + OUT_PATH_LEN, true))),
        type: ENTRY_KINDS[v.getUint32(out + OUT_TYPE, true)]!,
        linkpath: linkLen === 0 ? "" : utf8.decode(c.bytes.subarray(linkAt, linkAt + linkLen)),
        mode: v.getFloat64(out + OUT_MODE, true),
        uid: v.getFloat64(out + OUT_UID, true),
        gid: v.getFloat64(out + OUT_GID, true),
        size: v.getFloat64(out + OUT_SIZE, true),
        mtime: v.getFloat64(out + OUT_MTIME, true),
        devmajor: v.getFloat64(out + OUT_DEVMAJOR, true),
        devminor: v.getFloat64(out + OUT_DEVMINOR, true),
        xattrs,
      };
      this.sparseMapIn = undefined;
      const sparseMode = v.getUint32(out + OUT_SPARSE, true);
      if (sparseMode !== 0) {
        entry.sparse = this.sparse = { size: v.getFloat64(out + OUT_SPARSE_SIZE, true), segments: [] };
        this.sparsePath = entry.path;
        this.addSegments(c);
        this.sparseMapIn = sparseMode === SPARSE_EXT_BLOCKS ? "header-blocks" : sparseMode === SPARSE_DATA_MAP ? "data" : undefined;
      }
      return entry;
    }
    if (status === STATUS_META) {
      this.metaSize = v.getFloat64(out + OUT_SIZE, true);
      this.metaAt = v.getUint32(out + OUT_META_PTR, true);
      this.metaFed = 0;
      return "meta";
    }
    if (status === STATUS_END) return "end";
    throw tarError(c, status);
  }

  private addSegments(c: Core): void {
    const v = c.view;
    const segments = this.sparse!.segments;
    const count = v.getUint32(c.out + OUT_SPARSE_COUNT, true);
    for (let i = 0, t = v.getUint32(c.out + OUT_SPARSE_PTR, true); i < count; i++, t += 16) {
      segments.push({ offset: v.getFloat64(t, true), length: v.getFloat64(t + 8, true) });
    }
  }

  /** The next 512-byte block of the sparse map sparseMapIn says goes on; sparseMapIn is cleared once it is read. */
  sparseBlock(block: Uint8Array): void {
    if (!this.sparseMapIn) throw new Error("Cannot read tar entry: no sparse map is being read");
    const c = getCore();
    this.claim(c);
    c.bytes.set(block.length === 512 ? block : block.subarray(0, 512), c.block);
    const status = c.exp.tarSparseBlock();
    if (status < 0) {
      this.sparseMapIn = undefined;
      throw new Error(`Cannot read tar entry ${this.sparsePath}: invalid GNU sparse map`);
    }
    this.addSegments(c);
    if (status !== STATUS_SPARSE_MORE) this.sparseMapIn = undefined;
  }

  /** The next bytes of the metadata body header() asked for. */
  metaData(piece: Uint8Array): void {
    if (this.metaFed + piece.length > this.metaSize) throw new Error("Cannot read tar entry: metadata body longer than its header says");
    const c = getCore();
    this.claim(c);
    c.bytes.set(piece, this.metaAt + this.metaFed);
    this.metaFed += piece.length;
  }

  /** After the whole body: checks its records and keeps them for the entries they apply to. */
  metaEnd(): void {
    if (this.metaFed !== this.metaSize) throw new Error("Cannot read tar entry: metadata body shorter than its header says");
    const c = getCore();
    this.claim(c);
    this.metaSize = 0;
    const status = c.exp.tarMetaEnd();
    if (status !== STATUS_OK) throw tarError(c, status);
  }

  /** Whether metadata records are waiting for an entry (a stream must not end there). */
  get pendingMeta(): boolean {
    const c = getCore();
    this.claim(c);
    return c.view.getUint32(c.tarState + S_PENDING, true) > 0;
  }
}

function releaseTar(c: Core): void {
  activeTar?.save(c);
  activeTar = undefined;
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

export type EntryAction = "create" | "replace" | "update-dir" | "whiteout" | "opaque" | "skip-device" | "skip" | "root" | "replace-dir";
const ACTIONS: readonly EntryAction[] = ["create", "replace", "update-dir", "whiteout", "opaque", "skip-device", "skip", "root", "replace-dir"];

/** Why an entry is refused (core-as/assembly/layer-entry.ts REJECT_*). */
export type RejectReason = "escape" | "too-long" | "nul" | "bad-whiteout" | "whiteout-same-layer" | "link-target" | "root-not-dir" | "empty";
const REASONS: readonly (RejectReason | "")[] = ["", "escape", "too-long", "nul", "bad-whiteout", "whiteout-same-layer", "link-target", "root-not-dir", "empty"];

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

// ---- seccomp ----

/** A seccomp policy with every name resolved to a number, as core-as/assembly/seccomp.ts compiles it. */
export interface BpfPolicy {
  /** AUDIT_ARCH_* of the architecture the program accepts. */
  arch: number;
  /** SECCOMP_RET_* values: for a foreign architecture (and numbers from refuseFrom on), for a known
   * syscall no rule names, for a number the architecture's table does not name. */
  badArchAction: number;
  defaultAction: number;
  unknownAction: number;
  /** Numbers from here on are refused like a foreign architecture (x32's on x86_64); 0: none. */
  refuseFrom: number;
  /** The syscall numbers the architecture's table names (all below 1024). */
  known: readonly number[];
  rules: readonly BpfRule[];
}

export interface BpfRule {
  nr: number;
  action: number;
  /** All must hold. op: libseccomp's SCMP_CMP_* number (1 NE .. 7 MASKED_EQ); for MASKED_EQ value is the mask. */
  args: readonly { index: number; op: number; value: bigint; valueTwo: bigint }[];
}

const SECCOMP_ERRORS: Record<number, string> = {
  [-1]: "the program would exceed 4096 instructions",
  [-2]: "an argument condition is invalid (index above 5, unknown comparison, or more than 6 in a rule)",
  [-3]: "the policy is too large or names a syscall number above 1023",
};

/** Compiles a policy to a classic BPF program (struct sock_filter[], 8 bytes each) in the core. */
export function compileSeccomp(p: BpfPolicy): Uint8Array {
  const c = getCore();
  const words = 7 + p.known.length + p.rules.reduce((n, r) => n + 3 + r.args.length * 6, 0);
  if (words * 4 > c.shaInputSize) throw new Error(`Cannot compile the seccomp profile: ${SECCOMP_ERRORS[-3]}`);
  const v = c.view;
  let at = c.shaInput;
  const put = (x: number) => {
    v.setUint32(at, x >>> 0, true);
    at += 4;
  };
  for (const x of [p.arch, p.badArchAction, p.defaultAction, p.unknownAction, p.refuseFrom, p.known.length, p.rules.length]) put(x);
  for (const n of p.known) put(n);
  for (const r of p.rules) {
    put(r.nr);
    put(r.action);
    put(r.args.length);
    for (const a of r.args) {
      put(a.index);
      put(a.op);
      put(Number(a.value & 0xffffffffn));
      put(Number((a.value >> 32n) & 0xffffffffn));
      put(Number(a.valueTwo & 0xffffffffn));
      put(Number((a.valueTwo >> 32n) & 0xffffffffn));
    }
  }
  const n = c.exp.seccompCompile();
  if (n < 0) throw new Error(`Cannot compile the seccomp profile: ${SECCOMP_ERRORS[n] ?? `status ${n}`}`);
  const out = c.exp.seccompOutPtr();
  return c.bytes.slice(out, out + n * 8);
}
