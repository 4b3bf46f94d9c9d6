// GNU sparse files: the map of where a file's data segments go (the rest are holes). Four forms:
// - old GNU ('S' typeflag): 4 (offset, numbytes) pairs in the header at 386, more in 512-byte
//   extension blocks after it (21 pairs each) while the "isextended" byte is set; realsize at 483;
// - pax 0.0: GNU.sparse.offset / GNU.sparse.numbytes records, in pairs, in order;
// - pax 0.1: GNU.sparse.map "offset,numbytes,offset,numbytes,...";
//   both with GNU.sparse.numblocks (pairs) and GNU.sparse.size (the file's size);
// - pax 1.0 (GNU.sparse.major=1, minor=0, realsize): the map is decimal text at the start of the
//   entry's data ("count\n" then "offset\nnumbytes\n" per pair), padded to 512 bytes.
// The entry's stored data is the segments' bytes one after the other. Pairs come out as f64 pairs in
// a table JS reads (OUT_SPARSE_PTR, OUT_SPARSE_COUNT); the map is checked as it comes: segments in
// order, not overlapping, inside the file, at most MAX_SEGMENTS, and their bytes exactly the stored data.

import { OUT, OUT_SPARSE, OUT_SPARSE_COUNT, OUT_SPARSE_PTR, OUT_SPARSE_SIZE, BLOCK, STATUS_OK } from "./tar-header";

export const STATUS_BAD_SPARSE: i32 = -8; // OUT_PATH
export const STATUS_SPARSE_VERSION: i32 = -12;
/** tarSparseBlock(): the map goes on in the next block. */
export const STATUS_SPARSE_MORE: i32 = 3;

// OUT_SPARSE: what JS does after the entry's header.
export const SPARSE_NONE: u32 = 0;
export const SPARSE_DONE: u32 = 1; // the whole map is in the table
export const SPARSE_EXT_BLOCKS: u32 = 2; // old GNU: extension blocks follow the header (not counted in its size)
export const SPARSE_DATA_MAP: u32 = 3; // pax 1.0: the map starts the entry's data

/** Pairs decoded from one header or block (at most 128: "0\n0\n" per 4 bytes of a 512-byte block). */
export const SPARSE_OUT: usize = memory.data(128 * 16, 16);

const MAX_SAFE: f64 = 9007199254740991;
/** More segments than this is no file system's file: a map made to fill memory (zeros compress well). */
export const MAX_SEGMENTS: u32 = 1 << 20;

// The map being read, kept in the stream's state (tar-stream.ts TSTATE) at `state`.
const SP_MODE: usize = 0; // SPARSE_* still to come
const SP_LEFT: usize = 4; // pax 1.0: numbers still to read; 0xffffffff: the count comes first
const SP_DIGITS: usize = 8; // pax 1.0: digits of the number being read
const SP_NUM: usize = 16; // pax 1.0: the number being read (f64)
const SP_OFFSET: usize = 24; // an offset waiting for its numbytes (f64)
const SP_END: usize = 32; // where the last segment ended (f64)
const SP_DATA: usize = 40; // the segments' bytes so far (f64)
const SP_SIZE: usize = 48; // the file's size (f64)
const SP_STORED: usize = 56; // the entry's stored bytes after its header (f64)
const SP_MAP_BYTES: usize = 64; // pax 1.0: bytes of data the map took so far (f64)
const SP_HALF: usize = 72; // 1: SP_OFFSET holds an offset
const SP_SEGMENTS: usize = 76; // segments so far
export const SPARSE_STATE_BYTES: u32 = 80;

let state: usize = 0;
let table: usize = 0;
let count: u32 = 0;

/** Starts a map of a file of `size` bytes whose entry stores `stored` bytes after its header. */
export function sparseBegin(at: usize, size: f64, stored: f64, out: usize): void {
  state = at;
  memory.fill(at, 0, SPARSE_STATE_BYTES);
  store<f64>(at + SP_SIZE, size);
  store<f64>(at + SP_STORED, stored);
  table = out;
  count = 0;
  store<f64>(OUT + OUT_SPARSE_SIZE, size);
}

/** Appends a segment after checking it; false when the map is invalid. */
function addPair(offset: f64, length: f64): bool {
  const end = offset + length;
  if (offset < load<f64>(state + SP_END) || end > load<f64>(state + SP_SIZE) || end > MAX_SAFE) return false;
  const segments = load<u32>(state + SP_SEGMENTS) + 1;
  if (segments > MAX_SEGMENTS) return false;
  store<u32>(state + SP_SEGMENTS, segments);
  store<f64>(state + SP_END, end);
  store<f64>(state + SP_DATA, load<f64>(state + SP_DATA) + length);
  const t = table + (<usize>count << 4);
  store<f64>(t, offset);
  store<f64>(t + 8, length);
  count++;
  return true;
}

/** The next number of a map: an offset, or the numbytes that completes a pair. */
function addNumber(v: f64): bool {
  if (load<u32>(state + SP_HALF) == 0) {
    store<f64>(state + SP_OFFSET, v);
    store<u32>(state + SP_HALF, 1);
    return true;
  }
  store<u32>(state + SP_HALF, 0);
  return addPair(load<f64>(state + SP_OFFSET), v);
}

/** Ends the map: the segments must hold exactly the stored data. */
function finish(dataBytes: f64): i32 {
  store<u32>(state + SP_MODE, SPARSE_NONE);
  if (load<u32>(state + SP_HALF) != 0 || load<f64>(state + SP_DATA) != dataBytes) return STATUS_BAD_SPARSE;
  return STATUS_OK;
}

function publish(mode: u32): void {
  store<u32>(OUT + OUT_SPARSE, mode);
  store<u32>(OUT + OUT_SPARSE_PTR, <u32>table);
  store<u32>(OUT + OUT_SPARSE_COUNT, count);
  store<u32>(state + SP_MODE, mode == SPARSE_DONE ? SPARSE_NONE : mode);
}

/** An old GNU numeric field of `len` bytes (octal, NUL or space ended, or base-256); -1 when malformed. */
function octalField(p: usize, len: i32): f64 {
  if (load<u8>(p) & 0x80) {
    if (load<u8>(p) & 0x40) return -1; // negative
    let v: f64 = <f64>(load<u8>(p) & 0x3f);
    for (let k = 1; k < len; k++) {
      v = v * 256 + <f64>load<u8>(p + <usize>k);
      if (v > MAX_SAFE) return -1;
    }
    return v;
  }
  let i = 0;
  while (i < len && load<u8>(p + <usize>i) == 0x20) i++;
  let x: f64 = 0;
  let digits = 0;
  for (; i < len; i++) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c - 0x30 > 7) break;
    x = x * 8 + <f64>(c - 0x30);
    digits++;
  }
  for (; i < len; i++) {
    const c = load<u8>(p + <usize>i);
    if (c != 0 && c != 0x20) return -1;
  }
  return digits == 0 || x > MAX_SAFE ? -1 : x;
}

/** Reads up to `n` (offset, numbytes) pairs of 24 bytes at `p`; the first empty one ends them. */
function oldGnuPairs(p: usize, n: i32): bool {
  for (let i = 0; i < n; i++) {
    const e = p + <usize>(i * 24);
    if (load<u8>(e) == 0) break;
    const offset = octalField(e, 12);
    const length = octalField(e + 12, 12);
    if (offset < 0 || length < 0 || !addPair(offset, length)) return false;
  }
  return true;
}

/** The map of an old GNU 'S' header at BLOCK; the entry's stored size is `stored`. */
export function sparseOldGnu(at: usize, stored: f64): i32 {
  const size = octalField(BLOCK + 483, 12);
  if (size < 0) return STATUS_BAD_SPARSE;
  sparseBegin(at, size, stored, SPARSE_OUT);
  if (!oldGnuPairs(BLOCK + 386, 4)) return STATUS_BAD_SPARSE;
  if (load<u8>(BLOCK + 482) != 0) {
    publish(SPARSE_EXT_BLOCKS);
    return STATUS_OK;
  }
  const r = finish(stored);
  publish(SPARSE_DONE);
  return r;
}

/** The map of pax 0.0 / 0.1: `numbers` f64 values at `list`, `pairs` of them declared. */
export function sparsePaxList(list: usize, numbers: u32, pairs: f64, stored: f64): i32 {
  if (<f64>numbers != pairs * 2) return STATUS_BAD_SPARSE;
  for (let i: u32 = 0; i < numbers; i++) {
    if (!addNumber(load<f64>(list + (<usize>i << 3)))) return STATUS_BAD_SPARSE;
  }
  const r = finish(stored);
  publish(SPARSE_DONE);
  return r;
}

/**
 * Parses a GNU.sparse.map value ("o,n,o,n,...") into f64 values at `out`; returns their number,
 * or -1 when it is not a list of decimal integers.
 */
export function sparseMapText(p: usize, len: u32, out: usize): i32 {
  let n: i32 = 0;
  let x: f64 = 0;
  let digits = 0;
  for (let i: u32 = 0; i <= len; i++) {
    const c = i < len ? <u32>load<u8>(p + <usize>i) : 0x2c;
    if (c == 0x2c) {
      if (digits == 0) return len == 0 ? 0 : -1;
      store<f64>(out + (<usize>n << 3), x);
      n++;
      x = 0;
      digits = 0;
    } else if (c - 0x30 < 10) {
      x = x * 10 + <f64>(c - 0x30);
      digits++;
      if (x > MAX_SAFE) return -1;
    } else return -1;
  }
  return n;
}

/** Pax 1.0: the map is read from the entry's data, one block at a time (tarSparseBlock). */
export function sparseDataMap(): void {
  store<u32>(state + SP_LEFT, 0xffffffff);
  publish(SPARSE_DATA_MAP);
}

/**
 * The next block of an old GNU extension or of a pax 1.0 map, at BLOCK, for the map whose state is
 * at `at`: STATUS_SPARSE_MORE (another block follows), STATUS_OK (the map is complete) or an error.
 */
export function sparseNextBlock(at: usize): i32 {
  state = at;
  table = SPARSE_OUT;
  count = 0;
  const mode = load<u32>(at + SP_MODE);
  if (mode == SPARSE_EXT_BLOCKS) {
    if (!oldGnuPairs(BLOCK, 21)) return STATUS_BAD_SPARSE;
    if (load<u8>(BLOCK + 504) != 0) {
      publish(SPARSE_EXT_BLOCKS);
      return STATUS_SPARSE_MORE;
    }
    const r = finish(load<f64>(at + SP_STORED));
    publish(SPARSE_DONE);
    return r;
  }
  if (mode != SPARSE_DATA_MAP) return STATUS_BAD_SPARSE;
  const mapBytes = load<f64>(at + SP_MAP_BYTES) + 512;
  if (mapBytes > load<f64>(at + SP_STORED)) return STATUS_BAD_SPARSE;
  store<f64>(at + SP_MAP_BYTES, mapBytes);
  let left = load<u32>(at + SP_LEFT);
  let x = load<f64>(at + SP_NUM);
  let digits = load<u32>(at + SP_DIGITS);
  for (let i: usize = 0; i < 512 && left != 0; i++) {
    const c = <u32>load<u8>(BLOCK + i);
    if (c - 0x30 < 10) {
      x = x * 10 + <f64>(c - 0x30);
      digits++;
      if (x > MAX_SAFE) return STATUS_BAD_SPARSE;
      continue;
    }
    if (c != 0x0a || digits == 0) return STATUS_BAD_SPARSE;
    if (left == 0xffffffff) {
      if (x > 0x7fffffff) return STATUS_BAD_SPARSE;
      left = <u32>x * 2;
    } else {
      if (!addNumber(x)) return STATUS_BAD_SPARSE;
      left--;
    }
    x = 0;
    digits = 0;
  }
  if (left != 0) {
    store<u32>(at + SP_LEFT, left);
    store<f64>(at + SP_NUM, x);
    store<u32>(at + SP_DIGITS, digits);
    publish(SPARSE_DATA_MAP);
    return STATUS_SPARSE_MORE;
  }
  const r = finish(load<f64>(at + SP_STORED) - mapBytes);
  publish(SPARSE_DONE);
  return r;
}
