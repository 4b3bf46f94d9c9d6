// A tar stream between its headers: the metadata entries (pax 'x'/'X' and global 'g' extended
// headers, GNU 'L'/'K' long names) and how they resolve into the next entry.
//
// JS copies each 512-byte header block to BLOCK and calls tarHeader():
// - STATUS_OK: OUT holds the resolved entry (path, type, link, ids, size to read, xattrs);
// - STATUS_META: a metadata entry. JS writes its OUT_SIZE body bytes at OUT_META_PTR, calls
//   tarMetaEnd() (which checks the records) and skips the padding;
// - STATUS_END, or an error (< 0) with its details in OUT.
// Metadata bodies are kept as they came, each behind a tag, in the data area (linear memory past
// the static data, grown on demand); they are read again when the entry they belong to arrives.
// They are dropped once their entry is out. A global 'g' header is checked like a per-file one,
// then dropped: it applies to no entry, as in Go's archive/tar and so in docker and podman.
// Precedence, per field: per-file pax > GNU long name/link > the header's own field; an empty pax
// value removes the field. A GNU sparse file's map and real name are read here too (tar-sparse.ts).

import { bytesEqual, startsWith, T_BLOCK, T_CHAR, T_DIR, T_FIFO, T_FILE, T_HARDLINK, T_OTHER, T_SYMLINK } from "./layer-entry";
import {
  OUT,
  OUT_ERR_KEY_LEN,
  OUT_ERR_KEY_PTR,
  OUT_ERR_VALUE_LEN,
  OUT_ERR_VALUE_PTR,
  OUT_GID,
  OUT_LINK,
  OUT_LINK_LEN,
  OUT_LINKPATH_LEN,
  OUT_LINKPATH_PTR,
  OUT_META_PTR,
  OUT_MODE,
  OUT_MTIME,
  OUT_NAME,
  OUT_NAME_LEN,
  OUT_PATH_LEN,
  OUT_PATH_PTR,
  OUT_SIZE,
  OUT_SPARSE,
  OUT_TYPE,
  OUT_TYPEFLAG,
  OUT_UID,
  OUT_XATTR_COUNT,
  OUT_XATTR_PTR,
  parseTarHeader,
  STATUS_OK,
} from "./tar-header";
import { SPARSE_NONE, SPARSE_OUT, SPARSE_STATE_BYTES, sparseBegin, sparseDataMap, sparseMapText, sparseNextBlock, sparseOldGnu, sparsePaxList, STATUS_BAD_SPARSE, STATUS_SPARSE_VERSION } from "./tar-sparse";

export const STATUS_META: i32 = 2;
export const STATUS_PAX_NO_LENGTH: i32 = -3;
export const STATUS_PAX_BAD_LENGTH: i32 = -4;
export const STATUS_PAX_NO_EQUALS: i32 = -5;
export const STATUS_PAX_BAD_VALUE: i32 = -6; // OUT_ERR_KEY / OUT_ERR_VALUE
export const STATUS_PAX_BAD_XATTR_NAME: i32 = -7; // OUT_ERR_KEY
export const STATUS_META_TOO_LARGE: i32 = -9; // OUT_TYPEFLAG, OUT_SIZE
export const STATUS_NEGATIVE_SIZE: i32 = -10; // OUT_PATH
export const STATUS_NO_MEMORY: i32 = -11;

/** Metadata bodies are held whole; real ones are a few KiB. */
export const MAX_META_SIZE: u32 = 64 << 20;

/** State kept between calls. JS saves it with the data area in use when it switches streams. */
export const TSTATE_BYTES: u32 = 16 + SPARSE_STATE_BYTES;
export const TSTATE: usize = memory.data(TSTATE_BYTES, 16);
const S_USED: usize = 0; // bytes of the data area holding complete bodies
const S_OPEN: usize = 4; // bytes reserved for the body being written (tag included); 0 when none
const S_PENDING: usize = 8; // per-file bodies ('x', 'X', 'L', 'K') waiting for their entry
const S_DROP: usize = 12; // 1: an entry took its per-file bodies; drop them on the next call
const S_SPARSE: usize = 16; // the sparse map being read (tar-sparse.ts)

/** The data area: bodies, each as a tag and the body padded to 4 bytes. */
export const DATA: usize = (__heap_base + 15) & ~(<usize>15);
const TAG_TYPEFLAG: usize = 0;
const TAG_LEN: usize = 4;
const TAG_XATTRS: usize = 8; // number of xattr records in a pax body
const TAG_SPARSE: usize = 12; // number of GNU.sparse.map, .offset and .numbytes records in it
const TAG_BYTES: usize = 16;

const DELETED: u32 = 0xffffffff; // value length of an xattr record that removes the name
const MAX_SAFE: u64 = 9007199254740991; // Number.MAX_SAFE_INTEGER

// Fields a pax record can set, and their slots.
const F_PATH: u32 = 0;
const F_LINKPATH: u32 = 1;
const F_SIZE: u32 = 2;
const F_UID: u32 = 3;
const F_GID: u32 = 4;
const F_MTIME: u32 = 5;
const F_SP_MAJOR: u32 = 6; // GNU.sparse.major
const F_SP_MINOR: u32 = 7; // GNU.sparse.minor
const F_SP_NAME: u32 = 8; // GNU.sparse.name: the file's real name
const F_SP_SIZE: u32 = 9; // GNU.sparse.size (0.x) or GNU.sparse.realsize (1.0)
const F_SP_NUMBLOCKS: u32 = 10; // GNU.sparse.numblocks (0.x)
const F_SP_MAP: u32 = 11; // GNU.sparse.map (0.1)
const FIELDS: u32 = 12;
const K_XATTR: u32 = 12; // SCHILY.xattr.NAME: raw name and value
const K_LIBARCHIVE_XATTR: u32 = 13; // LIBARCHIVE.xattr.NAME: URL-encoded name, base64 value
const K_SP_OFFSET: u32 = 14; // GNU.sparse.offset (0.0): one per segment, in order
const K_SP_NUMBYTES: u32 = 15; // GNU.sparse.numbytes (0.0): after its offset
const K_OTHER: u32 = 16;
/** Per field: value address, value length (u32 each); length 0: not set, or an empty value removes it. */
const SLOTS: usize = memory.data(FIELDS * 8, 16);

const TF_PAX: u32 = 0x78; // 'x'
const TF_PAX_OLD: u32 = 0x58; // 'X' (Solaris)
const TF_GLOBAL: u32 = 0x67; // 'g'
const TF_LONG_NAME: u32 = 0x4c; // 'L'
const TF_LONG_LINK: u32 = 0x4b; // 'K'

function isPax(tf: u32): bool {
  return tf == TF_PAX || tf == TF_PAX_OLD || tf == TF_GLOBAL;
}

function align4(n: u32): u32 {
  return (n + 3) & ~3;
}

/** Makes linear memory reach `end`; false when it cannot grow that far. */
function reach(end: u64): bool {
  const have = <u64>memory.size() << 16;
  if (end <= have) return true;
  if (end > 0xffffffff) return false;
  return memory.grow(<i32>((end - have + 0xffff) >> 16)) >= 0;
}

/** Starts a new stream. */
export function tarReset(): void {
  memory.fill(TSTATE, 0, TSTATE_BYTES);
}

/** Makes the data area hold `bytes` (JS restoring a saved stream); false when memory cannot grow. */
export function tarReserve(bytes: u32): bool {
  return reach(<u64>DATA + <u64>bytes);
}

// ---- Values ----

let numberOk = true;

function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

/** A pax integer: decimal digits only, at most 2^53 - 1. */
function paxInteger(p: usize, len: u32): f64 {
  numberOk = len > 0;
  let x: u64 = 0;
  for (let i: u32 = 0; i < len; i++) {
    const d = <u32>load<u8>(p + <usize>i) - 0x30;
    if (d > 9) {
      numberOk = false;
      return 0;
    }
    x = x * 10 + <u64>d;
    if (x > MAX_SAFE) {
      numberOk = false;
      return 0;
    }
  }
  return <f64>x;
}

const POW10: usize = memory.data<u64>([
  1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000, 100000000000, 1000000000000,
  10000000000000, 100000000000000, 1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000,
]);

/**
 * w / 10^k (k <= 18, w > 0) rounded to the nearest f64, ties to even, as JS's Number() does;
 * `sticky`: decimal digits that were dropped after w are not all zero.
 */
function quotient(w: u64, k: u32, sticky: bool): f64 {
  const d = load<u64>(POW10 + (<usize>k << 3));
  let q = w / d;
  let r = w % d;
  // Collect 64 significant bits in m, the first one worth 2^e.
  let m: u64;
  let e: i32;
  if (q != 0) {
    const lz = <i32>clz(q);
    e = 63 - lz;
    m = q;
    for (let i = 0; i < lz; i++) {
      r <<= 1;
      m <<= 1;
      if (r >= d) {
        r -= d;
        m |= 1;
      }
    }
  } else {
    e = 0;
    do {
      e--;
      r <<= 1;
    } while (r < d);
    r -= d;
    m = 1;
    for (let i = 0; i < 63; i++) {
      r <<= 1;
      m <<= 1;
      if (r >= d) {
        r -= d;
        m |= 1;
      }
    }
  }
  let mant = m >> 11;
  const rest = m & 0x7ff;
  if (rest > 0x400 || (rest == 0x400 && (r != 0 || sticky || (mant & 1) != 0))) mant++;
  if (mant == <u64>1 << 53) {
    mant >>= 1;
    e++;
  }
  return reinterpret<f64>((<u64>(e + 1023) << 52) | (mant & ((<u64>1 << 52) - 1)));
}

/** A pax decimal ("-?digits(.digits)?", as mtime has it) as JS's Number() reads it. */
function paxDecimal(p: usize, len: u32): f64 {
  numberOk = false;
  let i: u32 = 0;
  const neg = len > 0 && load<u8>(p) == 0x2d;
  if (neg) i++;
  const intStart = i;
  while (i < len && isDigit(load<u8>(p + <usize>i))) i++;
  const intEnd = i;
  if (intEnd == intStart) return 0;
  let fracStart = i;
  let fracEnd = i;
  if (i < len) {
    if (load<u8>(p + <usize>i) != 0x2e) return 0;
    fracStart = ++i;
    while (i < len && isDigit(load<u8>(p + <usize>i))) i++;
    fracEnd = i;
    if (fracEnd == fracStart || i != len) return 0;
  }
  numberOk = true;
  while (fracEnd > fracStart && load<u8>(p + <usize>(fracEnd - 1)) == 0x30) fracEnd--;
  // Up to 19 significant digits in w; the value is w * 10^exp10 (more if `sticky`).
  let w: u64 = 0;
  let digits = 0;
  let exp10: i32 = 0;
  let sticky = false;
  for (let j = intStart; j < intEnd; j++) {
    const d = <u64>load<u8>(p + <usize>j) - 0x30;
    if (digits == 0 && d == 0) continue;
    if (digits < 19) {
      w = w * 10 + d;
      digits++;
    } else {
      exp10++;
      if (d != 0) sticky = true;
    }
  }
  for (let j = fracStart; j < fracEnd; j++) {
    const d = <u64>load<u8>(p + <usize>j) - 0x30;
    if (digits >= 19) {
      if (d != 0) sticky = true;
      continue;
    }
    exp10--;
    if (digits == 0 && d == 0) continue;
    w = w * 10 + d;
    digits++;
  }
  let v: f64;
  if (w == 0) v = 0;
  else if (exp10 <= 0 && exp10 >= -18) v = quotient(w, <u32>-exp10, sticky);
  // Beyond what a timestamp needs: within an ulp or so of Number().
  else if (exp10 > 0) v = <f64>w * Math.pow(10, <f64>exp10);
  else v = <f64>w / Math.pow(10, <f64>-exp10);
  if (!isFinite(v)) numberOk = false;
  return neg ? -v : v;
}

function hexDigit(c: u32): i32 {
  if (c - 0x30 < 10) return <i32>(c - 0x30);
  const l = c | 0x20;
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

/** The byte of the "%XX" escape at p + i, or -1. */
function escapeAt(p: usize, len: u32, i: u32): i32 {
  if (i + 2 >= len || load<u8>(p + <usize>i) != 0x25) return -1;
  const hi = hexDigit(load<u8>(p + <usize>(i + 1)));
  const lo = hexDigit(load<u8>(p + <usize>(i + 2)));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/**
 * JS's decodeURIComponent on bytes: "%XX" escapes become bytes, and escaped bytes >= 0x80 must
 * form whole, valid UTF-8 sequences. Writes the result at `out` when it is not 0; returns its
 * length, or -1 where decodeURIComponent throws.
 */
function uriDecode(p: usize, len: u32, out: usize): i32 {
  let i: u32 = 0;
  let o: usize = 0;
  while (i < len) {
    const c = load<u8>(p + <usize>i);
    if (c != 0x25) {
      if (out) store<u8>(out + o, c);
      o++;
      i++;
      continue;
    }
    const b = escapeAt(p, len, i);
    if (b < 0) return -1;
    i += 3;
    if (out) store<u8>(out + o, <u8>b);
    o++;
    if (b < 0x80) continue;
    let n: u32;
    if ((b & 0xe0) == 0xc0) n = 2;
    else if ((b & 0xf0) == 0xe0) n = 3;
    else if ((b & 0xf8) == 0xf0) n = 4;
    else return -1;
    let cp = <u32>b & (0x7f >> n);
    for (let k: u32 = 1; k < n; k++) {
      const cb = escapeAt(p, len, i);
      if (cb < 0 || (cb & 0xc0) != 0x80) return -1;
      i += 3;
      cp = (cp << 6) | (<u32>cb & 0x3f);
      if (out) store<u8>(out + o, <u8>cb);
      o++;
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
  }
  return <i32>o;
}

/** Length of the valid UTF-8 sequence at p + i (its code point in utf8Cp), or 0. */
let utf8Cp: u32 = 0;
function utf8Sequence(p: usize, len: u32, i: u32): u32 {
  const b = <u32>load<u8>(p + <usize>i);
  let n: u32;
  let min: u32;
  if (b - 0xc2 < 0x1e) {
    n = 2;
    min = 0x80;
  } else if ((b & 0xf0) == 0xe0) {
    n = 3;
    min = 0x800;
  } else if (b - 0xf0 < 5) {
    n = 4;
    min = 0x10000;
  } else return 0;
  if (i + n > len) return 0;
  let cp = b & (0x7f >> n);
  for (let k: u32 = 1; k < n; k++) {
    const c = <u32>load<u8>(p + <usize>(i + k));
    if ((c & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  utf8Cp = cp;
  return n;
}

function base64Digit(c: u32): i32 {
  if (c - 0x41 < 26) return <i32>(c - 0x41);
  if (c - 0x61 < 26) return <i32>(c - 0x61 + 26);
  if (c - 0x30 < 10) return <i32>(c - 0x30 + 52);
  if (c == 0x2b || c == 0x2d) return 62; // '+' or '-'
  if (c == 0x2f || c == 0x5f) return 63; // '/' or '_'
  return -1;
}

/**
 * What rl always did with a LIBARCHIVE.xattr value: Buffer.from(utf8.decode(value), "base64").
 * That decoder reads the low byte of each UTF-16 unit, skips what is not base64 (either
 * alphabet) and stops at the first '='. Writes the bytes at `out`; returns their number.
 */
function base64Decode(p: usize, len: u32, out: usize): u32 {
  let acc: u32 = 0;
  let bits: u32 = 0;
  let o: u32 = 0;
  let i: u32 = 0;
  while (i < len) {
    const b = <u32>load<u8>(p + <usize>i);
    // The low bytes of the UTF-16 units this character becomes (invalid UTF-8: U+FFFD, skipped).
    let units: u32 = 1;
    let u0 = b;
    let u1: u32 = 0;
    if (b < 0x80) {
      i++;
    } else {
      const n = utf8Sequence(p, len, i);
      if (n == 0) {
        i++;
        continue;
      }
      i += n;
      if (utf8Cp < 0x10000) u0 = utf8Cp & 0xff;
      else {
        units = 2;
        u0 = ((utf8Cp - 0x10000) >> 10) & 0xff;
        u1 = utf8Cp & 0xff;
      }
    }
    for (let k: u32 = 0; k < units; k++) {
      const u = k == 0 ? u0 : u1;
      if (u == 0x3d) return o;
      const v = base64Digit(u);
      if (v < 0) continue;
      acc = (acc << 6) | <u32>v;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        store<u8>(out + <usize>o, <u8>(acc >> bits));
        o++;
      }
    }
  }
  return o;
}

// ---- Pax records ----

function keyKind(k: usize, n: u32): u32 {
  if (bytesEqual(k, n, "path")) return F_PATH;
  if (bytesEqual(k, n, "linkpath")) return F_LINKPATH;
  if (bytesEqual(k, n, "size")) return F_SIZE;
  if (bytesEqual(k, n, "uid")) return F_UID;
  if (bytesEqual(k, n, "gid")) return F_GID;
  if (bytesEqual(k, n, "mtime")) return F_MTIME;
  if (startsWith(k, n, "SCHILY.xattr.")) return K_XATTR;
  if (startsWith(k, n, "LIBARCHIVE.xattr.")) return K_LIBARCHIVE_XATTR;
  if (startsWith(k, n, "GNU.sparse.")) return sparseKeyKind(k + 11, n - 11);
  return K_OTHER;
}

function sparseKeyKind(k: usize, n: u32): u32 {
  if (bytesEqual(k, n, "offset")) return K_SP_OFFSET;
  if (bytesEqual(k, n, "numbytes")) return K_SP_NUMBYTES;
  if (bytesEqual(k, n, "map")) return F_SP_MAP;
  if (bytesEqual(k, n, "size") || bytesEqual(k, n, "realsize")) return F_SP_SIZE;
  if (bytesEqual(k, n, "numblocks")) return F_SP_NUMBLOCKS;
  if (bytesEqual(k, n, "name")) return F_SP_NAME;
  if (bytesEqual(k, n, "major")) return F_SP_MAJOR;
  if (bytesEqual(k, n, "minor")) return F_SP_MINOR;
  return K_OTHER;
}

function isIntegerField(kind: u32): bool {
  return kind == F_SIZE || kind == F_UID || kind == F_GID || kind == F_SP_SIZE || kind == F_SP_NUMBLOCKS;
}

function failRecord(status: i32, k: usize, kn: u32, v: usize, vn: u32): i32 {
  store<u32>(OUT + OUT_ERR_KEY_PTR, <u32>k);
  store<u32>(OUT + OUT_ERR_KEY_LEN, kn);
  store<u32>(OUT + OUT_ERR_VALUE_PTR, <u32>v);
  store<u32>(OUT + OUT_ERR_VALUE_LEN, vn);
  return status;
}

// Where resolveEntry() puts xattr records and decoded LIBARCHIVE names and values, and the numbers
// of a pax 0.0 sparse map.
let xattrTable: usize = 0;
let xattrCount: u32 = 0;
let decodedEnd: usize = 0;
let sparseList: usize = 0;
let sparseNumbers: u32 = 0;
/** Set by a checking paxRecords(): GNU.sparse.map, .offset and .numbytes records in the body. */
let sparseRecords: u32 = 0;

function addXattr(name: usize, nameLen: u32, value: usize, valueLen: u32): void {
  const t = xattrTable + (<usize>xattrCount << 4);
  store<u32>(t, <u32>name);
  store<u32>(t + 4, nameLen);
  store<u32>(t + 8, <u32>value);
  store<u32>(t + 12, valueLen);
  xattrCount++;
}

/**
 * Walks the "LEN KEY=VALUE\n" records of a pax body. With `apply` false it checks them (as a body
 * arrives) and returns the number of xattr records (sparseRecords: the sparse map's) or an error
 * status; with `apply` true (the body was checked) it fills the SLOTS, adds the xattr records and
 * the numbers of a pax 0.0 sparse map.
 */
function paxRecords(body: usize, n: u32, apply: bool): i32 {
  let xattrs: i32 = 0;
  let offsetWaits = false;
  sparseRecords = 0;
  let pos: u32 = 0;
  while (pos < n) {
    if (load<u8>(body + <usize>pos) == 0) break; // some writers pad the body with NULs
    const limit = min(n, pos + 21);
    let space = pos;
    while (space < limit && load<u8>(body + <usize>space) != 0x20) space++;
    if (space == limit) return STATUS_PAX_NO_LENGTH;
    let len: u64 = 0;
    for (let i = pos; i < space; i++) {
      const d = <u32>load<u8>(body + <usize>i) - 0x30;
      if (d > 9) return STATUS_PAX_BAD_LENGTH;
      if (len <= 0xffffffff) len = len * 10 + <u64>d;
    }
    const end = <u64>pos + len;
    if (len <= <u64>(space - pos) || end > <u64>n || load<u8>(body + <usize>(end - 1)) != 0x0a) return STATUS_PAX_BAD_LENGTH;
    const e = <u32>end;
    let eq = space + 1;
    while (eq < e && load<u8>(body + <usize>eq) != 0x3d) eq++;
    if (eq >= e) return STATUS_PAX_NO_EQUALS;
    let k = body + <usize>(space + 1);
    let kn = eq - space - 1;
    // Keys were compared as decoded text, and TextDecoder drops a leading byte order mark.
    if (kn >= 3 && load<u8>(k) == 0xef && load<u8>(k + 1) == 0xbb && load<u8>(k + 2) == 0xbf) {
      k += 3;
      kn -= 3;
    }
    const v = body + <usize>(eq + 1);
    const vn = e - 1 - eq - 1;
    const kind = keyKind(k, kn);
    if (kind < FIELDS) {
      if (kind == F_SP_MAP) sparseRecords++;
      if (vn > 0 && (isIntegerField(kind) || kind == F_MTIME)) {
        if (kind == F_MTIME) paxDecimal(v, vn);
        else paxInteger(v, vn);
        if (!numberOk) return failRecord(STATUS_PAX_BAD_VALUE, k, kn, v, vn);
      }
      if (apply) {
        const slot = SLOTS + <usize>kind * 8;
        store<u32>(slot, <u32>v);
        store<u32>(slot + 4, vn);
      }
    } else if (kind == K_XATTR) {
      xattrs++;
      if (apply) addXattr(k + 13, kn - 13, v, vn > 0 ? vn : DELETED);
    } else if (kind == K_LIBARCHIVE_XATTR) {
      const name = k + 17;
      const nameLen = kn - 17;
      if (uriDecode(name, nameLen, 0) < 0) return failRecord(STATUS_PAX_BAD_XATTR_NAME, k, kn, v, vn);
      xattrs++;
      if (apply) {
        const nameOut = decodedEnd;
        decodedEnd += <usize>uriDecode(name, nameLen, nameOut);
        const valueOut = decodedEnd;
        if (vn > 0) decodedEnd += <usize>base64Decode(v, vn, valueOut);
        addXattr(nameOut, <u32>(valueOut - nameOut), valueOut, vn > 0 ? <u32>(decodedEnd - valueOut) : DELETED);
      }
    } else if (kind == K_SP_OFFSET || kind == K_SP_NUMBYTES) {
      // In pairs, offset first, as GNU tar writes them.
      if ((kind == K_SP_NUMBYTES) != offsetWaits) return failRecord(STATUS_PAX_BAD_VALUE, k, kn, v, vn);
      offsetWaits = !offsetWaits;
      const x = paxInteger(v, vn);
      if (!numberOk) return failRecord(STATUS_PAX_BAD_VALUE, k, kn, v, vn);
      sparseRecords++;
      if (apply) {
        store<f64>(sparseList + (<usize>sparseNumbers << 3), x);
        sparseNumbers++;
      }
    }
    pos = e;
  }
  return xattrs;
}

// ---- Entries ----

function beginMeta(typeflag: u32): i32 {
  const size = load<f64>(OUT + OUT_SIZE);
  if (size < 0) {
    store<u32>(OUT + OUT_PATH_PTR, <u32>(OUT + OUT_NAME));
    store<u32>(OUT + OUT_PATH_LEN, load<u32>(OUT + OUT_NAME_LEN));
    return STATUS_NEGATIVE_SIZE;
  }
  if (size > <f64>MAX_META_SIZE) return STATUS_META_TOO_LARGE;
  const n = <u32>size;
  const at = DATA + <usize>load<u32>(TSTATE + S_USED);
  if (!reach(<u64>at + TAG_BYTES + <u64>n)) return STATUS_NO_MEMORY;
  store<u32>(at + TAG_TYPEFLAG, typeflag);
  store<u32>(at + TAG_LEN, n);
  store<u32>(at + TAG_XATTRS, 0);
  store<u32>(TSTATE + S_OPEN, <u32>TAG_BYTES + n);
  store<u32>(OUT + OUT_META_PTR, <u32>(at + TAG_BYTES));
  return STATUS_META;
}

/** Checks and keeps the metadata body JS wrote at OUT_META_PTR. Returns STATUS_OK or an error. */
export function tarMetaEnd(): i32 {
  const used = load<u32>(TSTATE + S_USED);
  const at = DATA + <usize>used;
  const typeflag = load<u32>(at + TAG_TYPEFLAG);
  const n = load<u32>(at + TAG_LEN);
  if (isPax(typeflag)) {
    const r = paxRecords(at + TAG_BYTES, n, false);
    if (r < 0) return r;
    store<u32>(at + TAG_XATTRS, <u32>r);
    store<u32>(at + TAG_SPARSE, sparseRecords);
  }
  store<u32>(TSTATE + S_OPEN, 0);
  if (typeflag == TF_GLOBAL) return STATUS_OK; // checked, then dropped
  store<u32>(TSTATE + S_USED, used + <u32>TAG_BYTES + align4(n));
  store<u32>(TSTATE + S_PENDING, load<u32>(TSTATE + S_PENDING) + 1);
  return STATUS_OK;
}

/** Drops the bodies the last entry took. */
function dropEntryBodies(): void {
  store<u32>(TSTATE + S_USED, 0);
  store<u32>(TSTATE + S_DROP, 0);
}

function slotPtr(field: u32): usize {
  return <usize>load<u32>(SLOTS + <usize>field * 8);
}
function slotLen(field: u32): u32 {
  return load<u32>(SLOTS + <usize>field * 8 + 4);
}

/** Whether the entry being resolved has metadata records (else SLOTS are stale). */
let haveMeta = false;

/** Whether a pax record sets the field (not removes it) for the entry being resolved. */
function paxSets(field: u32): bool {
  return haveMeta && slotLen(field) > 0;
}

function paxNumber(field: u32, header: f64): f64 {
  if (!paxSets(field)) return header;
  const p = slotPtr(field);
  const n = slotLen(field);
  return field == F_MTIME ? paxDecimal(p, n) : paxInteger(p, n);
}

let textPtr: usize = 0;
let textLen: u32 = 0;

/** Picks path or linkpath: pax, else the GNU long record, else the header. */
function pickText(field: u32, longPtr: usize, longLen: u32, hasLong: bool, header: usize, headerLen: u32): void {
  if (paxSets(field)) {
    textPtr = slotPtr(field);
    textLen = slotLen(field);
  } else if (hasLong) {
    textPtr = longPtr;
    textLen = longLen;
  } else {
    textPtr = header;
    textLen = headerLen;
  }
}

/** Length up to the first NUL. */
function cStringLength(p: usize, n: u32): u32 {
  for (let i: u32 = 0; i < n; i++) if (load<u8>(p + <usize>i) == 0) return i;
  return n;
}

function entryType(typeflag: u32, path: usize, pathLen: u32): i32 {
  switch (typeflag) {
    case 0x30: // '0'
    case 0x37: // '7'
      return T_FILE;
    case 0:
      // Pre-POSIX archives mark directories only by the trailing slash.
      return pathLen > 0 && load<u8>(path + <usize>(pathLen - 1)) == 0x2f ? T_DIR : T_FILE;
    case 0x31:
      return T_HARDLINK;
    case 0x32:
      return T_SYMLINK;
    case 0x33:
      return T_CHAR;
    case 0x34:
      return T_BLOCK;
    case 0x35: // '5'
    case 0x44: // 'D': GNU incremental dumpdir, a directory whose data lists its contents
      return T_DIR;
    case 0x36:
      return T_FIFO;
    case 0x53: // 'S': old GNU sparse file
      return T_FILE;
  }
  return T_OTHER;
}

/** Applies the waiting metadata to the header in OUT and writes the entry's fields there. */
function resolveEntry(typeflag: u32): i32 {
  const used = DATA + <usize>load<u32>(TSTATE + S_USED);
  let longName: usize = 0;
  let longNameLen: u32 = 0;
  let hasLongName = false;
  let longLink: usize = 0;
  let longLinkLen: u32 = 0;
  let hasLongLink = false;
  let hasPax = false;
  xattrCount = 0;
  haveMeta = used > DATA;
  if (haveMeta) {
    memory.fill(SLOTS, 0, FIELDS * 8);
    // Room for the xattr table and decoded LIBARCHIVE names and values (never longer than their
    // records), then for the numbers of a sparse map (at most one per two bytes of its records).
    let xattrs: usize = 0;
    let sparse: usize = 0;
    let paxBytes: usize = 0;
    for (let at = DATA; at < used; at += TAG_BYTES + <usize>align4(load<u32>(at + TAG_LEN))) {
      xattrs += <usize>load<u32>(at + TAG_XATTRS);
      sparse += <usize>load<u32>(at + TAG_SPARSE);
      paxBytes += <usize>load<u32>(at + TAG_LEN);
    }
    xattrTable = used;
    decodedEnd = used + (xattrs << 4);
    sparseList = (decodedEnd + paxBytes + 7) & ~(<usize>7);
    sparseNumbers = 0;
    if (xattrs > 0 && !reach(<u64>decodedEnd + <u64>paxBytes)) return STATUS_NO_MEMORY;
    if (sparse > 0 && !reach(<u64>sparseList + (<u64>(paxBytes >> 1) + 1) * 8)) return STATUS_NO_MEMORY;
    // In the order they came: later records win.
    for (let at = DATA; at < used; at += TAG_BYTES + <usize>align4(load<u32>(at + TAG_LEN))) {
      const tf = load<u32>(at + TAG_TYPEFLAG);
      const body = at + TAG_BYTES;
      const n = load<u32>(at + TAG_LEN);
      if (isPax(tf)) {
        paxRecords(body, n, true);
        hasPax = true;
      } else if (tf == TF_LONG_NAME) {
        longName = body;
        longNameLen = cStringLength(body, n);
        hasLongName = true;
      } else if (tf == TF_LONG_LINK) {
        longLink = body;
        longLinkLen = cStringLength(body, n);
        hasLongLink = true;
      }
    }
    store<u32>(TSTATE + S_PENDING, 0);
    store<u32>(TSTATE + S_DROP, 1);
  }
  store<u32>(OUT + OUT_XATTR_PTR, <u32>xattrTable);
  store<u32>(OUT + OUT_XATTR_COUNT, xattrCount);

  store<u32>(OUT + OUT_SPARSE, SPARSE_NONE);
  const sparse = sparseFormat(typeflag);
  if (sparse < 0) return sparse;
  pickText(F_PATH, longName, longNameLen, hasLongName, OUT + OUT_NAME, load<u32>(OUT + OUT_NAME_LEN));
  if (sparse != SP_NONE && paxSets(F_SP_NAME)) {
    // The stored name is made up ("./GNUSparseFile.PID/NAME"): this is the file's own.
    textPtr = slotPtr(F_SP_NAME);
    textLen = slotLen(F_SP_NAME);
  }
  const path = textPtr;
  let pathLen = textLen;
  const type = entryType(typeflag, path, pathLen);
  if (type < 0) return type;
  if (type == T_DIR) {
    while (pathLen > 1 && load<u8>(path + <usize>(pathLen - 1)) == 0x2f) pathLen--;
  }
  store<u32>(OUT + OUT_PATH_PTR, <u32>path);
  store<u32>(OUT + OUT_PATH_LEN, pathLen);
  store<u32>(OUT + OUT_TYPE, <u32>type);
  if (sparse != SP_NONE && type != T_FILE) return STATUS_BAD_SPARSE;
  pickText(F_LINKPATH, longLink, longLinkLen, hasLongLink, OUT + OUT_LINK, load<u32>(OUT + OUT_LINK_LEN));
  store<u32>(OUT + OUT_LINKPATH_PTR, <u32>textPtr);
  store<u32>(OUT + OUT_LINKPATH_LEN, textLen);

  const declared = paxNumber(F_SIZE, load<f64>(OUT + OUT_SIZE));
  if (declared < 0) return STATUS_NEGATIVE_SIZE;
  // Links, devices, fifos and directories have no data, whatever the size field says; a
  // hardlink has data only in pax archives (POSIX lets it carry the file's contents).
  let stored = declared;
  if (type == T_SYMLINK || type == T_CHAR || type == T_BLOCK || type == T_FIFO || typeflag == 0x35) stored = 0;
  else if (type == T_HARDLINK && !hasPax) stored = 0;
  store<f64>(OUT + OUT_SIZE, stored);
  store<f64>(OUT + OUT_MODE, <f64>(<i64>load<f64>(OUT + OUT_MODE) & 0o7777));
  store<f64>(OUT + OUT_UID, paxNumber(F_UID, load<f64>(OUT + OUT_UID)));
  store<f64>(OUT + OUT_GID, paxNumber(F_GID, load<f64>(OUT + OUT_GID)));
  store<f64>(OUT + OUT_MTIME, paxNumber(F_MTIME, load<f64>(OUT + OUT_MTIME)));
  if (sparse == SP_NONE) return STATUS_OK;
  const at = TSTATE + S_SPARSE;
  if (sparse == SP_OLD_GNU) return sparseOldGnu(at, stored);
  if (!paxSets(F_SP_SIZE)) return STATUS_BAD_SPARSE;
  sparseBegin(at, paxNumber(F_SP_SIZE, 0), stored, sparse == SP_PAX_1 ? SPARSE_OUT : sparseList);
  if (sparse == SP_PAX_1) {
    sparseDataMap();
    return STATUS_OK;
  }
  let numbers = <i32>sparseNumbers;
  if (paxSets(F_SP_MAP)) numbers = sparseMapText(slotPtr(F_SP_MAP), slotLen(F_SP_MAP), sparseList);
  if (numbers < 0 || !paxSets(F_SP_NUMBLOCKS)) return STATUS_BAD_SPARSE;
  return sparsePaxList(sparseList, <u32>numbers, paxNumber(F_SP_NUMBLOCKS, 0), stored);
}

const SP_NONE: i32 = 0;
const SP_OLD_GNU: i32 = 1;
const SP_PAX_0: i32 = 2; // 0.0 and 0.1
const SP_PAX_1: i32 = 3;

/** Whether a slot holds exactly the ASCII text `s`. */
function slotIs(field: u32, s: string): bool {
  return paxSets(field) && bytesEqual(slotPtr(field), slotLen(field), s);
}

/** Which GNU sparse form the entry being resolved is in (SP_*), or STATUS_SPARSE_VERSION. */
function sparseFormat(typeflag: u32): i32 {
  if (typeflag == 0x53) return SP_OLD_GNU; // 'S'
  if (!haveMeta) return SP_NONE;
  if (paxSets(F_SP_MAJOR) || paxSets(F_SP_MINOR)) {
    if (slotIs(F_SP_MAJOR, "1") && slotIs(F_SP_MINOR, "0")) return SP_PAX_1;
    if (slotIs(F_SP_MAJOR, "0") && (slotIs(F_SP_MINOR, "0") || slotIs(F_SP_MINOR, "1"))) return SP_PAX_0;
    return STATUS_SPARSE_VERSION;
  }
  // 0.0 and 0.1 have no version records.
  return paxSets(F_SP_MAP) || paxSets(F_SP_NUMBLOCKS) || sparseNumbers > 0 ? SP_PAX_0 : SP_NONE;
}

/** The next block of a sparse map that goes on after its header (OUT_SPARSE says so): see tar-sparse.ts. */
export function tarSparseBlock(): i32 {
  return sparseNextBlock(TSTATE + S_SPARSE);
}

/** Reads the header block at BLOCK; returns a STATUS_* code (see the top of this file). */
export function tarHeader(): i32 {
  if (load<u32>(TSTATE + S_DROP)) dropEntryBodies();
  const status = parseTarHeader();
  if (status != STATUS_OK) return status;
  const typeflag = load<u32>(OUT + OUT_TYPEFLAG);
  if (isPax(typeflag) || typeflag == TF_LONG_NAME || typeflag == TF_LONG_LINK) return beginMeta(typeflag);
  return resolveEntry(typeflag);
}
