// Tar header parsing (v7, ustar, GNU, star) on fixed areas of linear memory.
// JS copies a 512-byte block to BLOCK and calls tarHeader() (tar-stream.ts), which parses it here
// into OUT and then applies the pax / GNU metadata records that came before it.

/** The 512-byte header block the caller fills before each call. */
export const BLOCK: usize = memory.data(512, 16);

/** Results. Layout shared with core-as/index.ts; change both together. */
export const OUT: usize = memory.data(640, 16);

// f64 fields
export const OUT_SIZE: usize = 0;
export const OUT_MTIME: usize = 8;
export const OUT_UID: usize = 16;
export const OUT_GID: usize = 24;
export const OUT_MODE: usize = 32;
export const OUT_DEVMAJOR: usize = 40;
export const OUT_DEVMINOR: usize = 48;
export const OUT_SPARSE_SIZE: usize = 56; // a sparse file's size (tar-sparse.ts)
// u32 fields
export const OUT_TYPEFLAG: usize = 64;
export const OUT_NAME_LEN: usize = 68;
export const OUT_LINK_LEN: usize = 72;
export const OUT_BAD_FIELD: usize = 80;
// u32 fields of the resolved entry (tar-stream.ts); pointers are addresses in linear memory
export const OUT_TYPE: usize = 84; // T_* (layer-entry.ts)
export const OUT_PATH_PTR: usize = 88;
export const OUT_PATH_LEN: usize = 92;
export const OUT_LINKPATH_PTR: usize = 96;
export const OUT_LINKPATH_LEN: usize = 100;
export const OUT_XATTR_PTR: usize = 104; // table of OUT_XATTR_COUNT (name ptr, len, value ptr, len)
export const OUT_XATTR_COUNT: usize = 108;
export const OUT_META_PTR: usize = 112; // where JS writes a metadata entry's body
export const OUT_ERR_KEY_PTR: usize = 116; // the pax record an error is about
export const OUT_ERR_KEY_LEN: usize = 120;
export const OUT_ERR_VALUE_PTR: usize = 124;
export const OUT_ERR_VALUE_LEN: usize = 128;
export const OUT_SPARSE: usize = 132; // SPARSE_* (tar-sparse.ts)
export const OUT_SPARSE_PTR: usize = 136; // table of OUT_SPARSE_COUNT (offset, numbytes) f64 pairs
export const OUT_SPARSE_COUNT: usize = 140;
// bytes: joined prefix + "/" + name (at most 155 + 1 + 100), then linkname (at most 100)
export const OUT_NAME: usize = 256;
export const OUT_LINK: usize = 512;

export const STATUS_OK: i32 = 0;
export const STATUS_END: i32 = 1;
export const STATUS_BAD_CHECKSUM: i32 = -1;
export const STATUS_BAD_NUMBER: i32 = -2;

export const FORMAT_V7: u32 = 0;
export const FORMAT_USTAR: u32 = 1;
export const FORMAT_GNU: u32 = 2;
export const FORMAT_STAR: u32 = 3;

// Field numbers reported in OUT_BAD_FIELD.
export const FIELD_CHECKSUM: u32 = 1;
export const FIELD_SIZE: u32 = 2;
export const FIELD_MTIME: u32 = 3;
export const FIELD_UID: u32 = 4;
export const FIELD_GID: u32 = 5;
export const FIELD_MODE: u32 = 6;
export const FIELD_DEVMAJOR: u32 = 7;
export const FIELD_DEVMINOR: u32 = 8;

const MAX_SAFE: i64 = 9007199254740991; // Number.MAX_SAFE_INTEGER: results travel to JS as f64

let numberOk = true;

/** Length of a NUL-terminated field of at most `max` bytes. */
function fieldLength(p: usize, max: i32): i32 {
  for (let i = 0; i < max; i++) {
    if (load<u8>(p + <usize>i) == 0) return i;
  }
  return max;
}

/**
 * A numeric field: octal digits (leading spaces allowed, ended by space or NUL), or
 * GNU base-256 when the first byte's high bit is set (two's complement, bit 6 of the
 * first byte the sign). Clears numberOk on malformed or out-of-range values.
 */
function parseNumber(p: usize, len: i32): i64 {
  const first = load<u8>(p);
  if (first & 0x80) {
    const inv: u32 = first & 0x40 ? 0xff : 0;
    let x: u64 = 0;
    for (let i = 0; i < len; i++) {
      let c = <u32>load<u8>(p + <usize>i) ^ inv;
      if (i == 0) c &= 0x7f;
      if (x >> 55 != 0) {
        numberOk = false;
        return 0;
      }
      x = (x << 8) | <u64>c;
    }
    // Negative values were inverted above: -x - 1 == ~x.
    const v: i64 = inv ? ~(<i64>x) : <i64>x;
    if (v > MAX_SAFE || v < -MAX_SAFE) {
      numberOk = false;
      return 0;
    }
    return v;
  }
  let i = 0;
  while (i < len && load<u8>(p + <usize>i) == 0x20) i++;
  let x: u64 = 0;
  for (; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c < 0x30 || c > 0x37) break;
    x = (x << 3) | <u64>(c - 0x30);
    if (x > <u64>MAX_SAFE) {
      numberOk = false;
      return 0;
    }
  }
  // Only spaces and NULs may follow the digits.
  for (; i < len; i++) {
    const c = load<u8>(p + <usize>i);
    if (c != 0 && c != 0x20) {
      numberOk = false;
      return 0;
    }
  }
  return <i64>x;
}

function numberField(p: usize, len: i32, out: usize, field: u32): bool {
  numberOk = true;
  const v = parseNumber(p, len);
  if (!numberOk) {
    store<u32>(OUT + OUT_BAD_FIELD, field);
    return false;
  }
  store<f64>(OUT + out, <f64>v);
  return true;
}

/** Parses the block at BLOCK into OUT (the header's own fields); returns a STATUS_* code. */
export function parseTarHeader(): i32 {
  const b = BLOCK;

  // One pass computes the unsigned and signed sums and detects an all-zero block.
  let unsignedSum: u32 = 0;
  let signedSum: i32 = 0;
  let any: u64 = 0;
  for (let i: usize = 0; i < 512; i += 8) {
    const w = load<u64>(b + i);
    any |= w;
    for (let k: usize = 0; k < 8; k++) {
      const c = load<u8>(b + i + k);
      unsignedSum += <u32>c;
      signedSum += <i32>(<i8>c);
    }
  }
  if (any == 0) return STATUS_END;

  // The checksum field itself counts as eight spaces.
  for (let i: usize = 148; i < 156; i++) {
    const c = load<u8>(b + i);
    unsignedSum = unsignedSum - <u32>c + 0x20;
    signedSum = signedSum - <i32>(<i8>c) + 0x20;
  }
  numberOk = true;
  const stored = parseNumber(b + 148, 8);
  if (!numberOk) {
    store<u32>(OUT + OUT_BAD_FIELD, FIELD_CHECKSUM);
    return STATUS_BAD_CHECKSUM;
  }
  if (stored != <i64>unsignedSum && stored != <i64>signedSum) {
    store<u32>(OUT + OUT_BAD_FIELD, FIELD_CHECKSUM);
    return STATUS_BAD_CHECKSUM;
  }

  // magic at 257: "ustar\0" + version (POSIX), or "ustar  \0" (GNU).
  let format = FORMAT_V7;
  if ((load<u64>(b + 257) & 0xffffffffff) == 0x7261747375) {
    const sep = load<u8>(b + 262);
    if (sep == 0x20) {
      format = FORMAT_GNU;
    } else if (sep == 0) {
      // star keeps atime/ctime at the end of the prefix field and "tar\0" at 508.
      format = load<u32>(b + 508) == 0x00726174 ? FORMAT_STAR : FORMAT_USTAR;
    }
  }
  store<u32>(OUT + OUT_TYPEFLAG, load<u8>(b + 156));
  store<u32>(OUT + OUT_BAD_FIELD, 0);

  if (!numberField(b + 100, 8, OUT_MODE, FIELD_MODE)) return STATUS_BAD_NUMBER;
  if (!numberField(b + 108, 8, OUT_UID, FIELD_UID)) return STATUS_BAD_NUMBER;
  if (!numberField(b + 116, 8, OUT_GID, FIELD_GID)) return STATUS_BAD_NUMBER;
  if (!numberField(b + 124, 12, OUT_SIZE, FIELD_SIZE)) return STATUS_BAD_NUMBER;
  if (!numberField(b + 136, 12, OUT_MTIME, FIELD_MTIME)) return STATUS_BAD_NUMBER;
  if (format == FORMAT_V7) {
    store<f64>(OUT + OUT_DEVMAJOR, 0);
    store<f64>(OUT + OUT_DEVMINOR, 0);
  } else {
    if (!numberField(b + 329, 8, OUT_DEVMAJOR, FIELD_DEVMAJOR)) return STATUS_BAD_NUMBER;
    if (!numberField(b + 337, 8, OUT_DEVMINOR, FIELD_DEVMINOR)) return STATUS_BAD_NUMBER;
  }

  // Name, with the ustar prefix joined (GNU's format keeps other data there).
  let nameOut = OUT + OUT_NAME;
  if (format == FORMAT_USTAR || format == FORMAT_STAR) {
    const prefixLen = fieldLength(b + 345, format == FORMAT_STAR ? 131 : 155);
    if (prefixLen > 0) {
      memory.copy(nameOut, b + 345, <usize>prefixLen);
      nameOut += <usize>prefixLen;
      store<u8>(nameOut, 0x2f);
      nameOut += 1;
    }
  }
  const nameLen = fieldLength(b, 100);
  memory.copy(nameOut, b, <usize>nameLen);
  nameOut += <usize>nameLen;
  store<u32>(OUT + OUT_NAME_LEN, <u32>(nameOut - (OUT + OUT_NAME)));

  const linkLen = fieldLength(b + 157, 100);
  memory.copy(OUT + OUT_LINK, b + 157, <usize>linkLen);
  store<u32>(OUT + OUT_LINK_LEN, <u32>linkLen);
  return STATUS_OK;
}
