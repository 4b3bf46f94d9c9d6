// Follows the frame and block structure of a zstd stream (RFC 8878) without decompressing it, to
// tell whether the stream ends exactly at a frame boundary: Bun's zstd decompressor ends quietly on
// a truncated stream. JS keeps the scanner's state (ZSTATE_WORDS u32) and copies it in and out.
import { INPUT, INPUT_SIZE } from "./sha256";

export const ZSTATE: usize = memory.data(32, 16);
export const ZSTATE_WORDS: u32 = 8;
const S_PHASE: usize = 0;
const S_SKIP: usize = 4; // bytes still to skip
const S_ACC: usize = 8; // little-endian field being collected
const S_ACC_N: usize = 12; // bytes collected / bytes wanted (low/high 16 bits)
const S_FLAGS: usize = 16; // bit 0: the frame ends with a content checksum
const S_FRAMES: usize = 20;
const S_NEXT: usize = 24; // after a skip: 0 → block header, 1 → magic, 2 → checksum then magic

const P_MAGIC: u32 = 0; // collecting a 4-byte magic number (a frame boundary when nothing is collected)
const P_SKIPPABLE_SIZE: u32 = 1;
const P_FHD: u32 = 2; // frame header descriptor byte
const P_BLOCK_HEADER: u32 = 3;
const P_SKIP: u32 = 4; // skipping S_SKIP bytes, then on to S_NEXT
const P_ERROR: u32 = 5;

export const ZSTD_OK: i32 = 0;
export const ZSTD_BAD: i32 = 1; // not a zstd stream, or a reserved block type
export const ZSTD_TRUNCATED: i32 = 2;

const ZSTD_MAGIC: u32 = 0xfd2fb528;

export function zstdScanInit(): void {
  memory.fill(ZSTATE, 0, 32);
  store<u32>(ZSTATE + S_ACC_N, 4 << 16);
}

function collect(want: u32, phase: u32): void {
  store<u32>(ZSTATE + S_PHASE, phase);
  store<u32>(ZSTATE + S_ACC, 0);
  store<u32>(ZSTATE + S_ACC_N, want << 16);
}

function skipThen(n: u32, next: u32): void {
  store<u32>(ZSTATE + S_SKIP, n);
  store<u32>(ZSTATE + S_NEXT, next);
  store<u32>(ZSTATE + S_PHASE, P_SKIP);
  if (n == 0) afterSkip();
}

function afterSkip(): void {
  const next = load<u32>(ZSTATE + S_NEXT);
  if (next == 0) collect(3, P_BLOCK_HEADER);
  else if (next == 1) collect(4, P_MAGIC);
  else skipThen(4, 1); // the content checksum, then the next frame
}

/** A whole field has been collected: act on it. */
function field(phase: u32, v: u32): void {
  if (phase == P_MAGIC) {
    if (v == ZSTD_MAGIC) {
      collect(1, P_FHD);
    } else if ((v & 0xfffffff0) == 0x184d2a50) {
      collect(4, P_SKIPPABLE_SIZE);
    } else {
      store<u32>(ZSTATE + S_PHASE, P_ERROR);
    }
  } else if (phase == P_SKIPPABLE_SIZE) {
    skipThen(v, 1);
  } else if (phase == P_FHD) {
    const fcsFlag = v >> 6;
    const single = (v >> 5) & 1;
    const dictFlag = v & 3;
    if ((v >> 3) & 1) {
      store<u32>(ZSTATE + S_PHASE, P_ERROR); // reserved bit
      return;
    }
    store<u32>(ZSTATE + S_FLAGS, (v >> 2) & 1);
    store<u32>(ZSTATE + S_FRAMES, load<u32>(ZSTATE + S_FRAMES) + 1);
    const dictSize: u32 = dictFlag == 0 ? 0 : dictFlag == 1 ? 1 : dictFlag == 2 ? 2 : 4;
    const fcsSize: u32 = fcsFlag == 0 ? single : fcsFlag == 1 ? 2 : fcsFlag == 2 ? 4 : 8;
    skipThen((single ? 0 : 1) + dictSize + fcsSize, 0);
  } else if (phase == P_BLOCK_HEADER) {
    const last = v & 1;
    const type = (v >> 1) & 3;
    const size = v >> 3;
    if (type == 3) {
      store<u32>(ZSTATE + S_PHASE, P_ERROR);
      return;
    }
    const next: u32 = last ? (load<u32>(ZSTATE + S_FLAGS) & 1 ? 2 : 1) : 0;
    skipThen(type == 1 ? 1 : size, next);
  }
}

/** Follows `len` (<= INPUT_SIZE) bytes at INPUT. */
export function zstdScanUpdate(len: u32): void {
  let p = INPUT;
  const end = INPUT + <usize>min<u32>(len, INPUT_SIZE);
  while (p < end) {
    const phase = load<u32>(ZSTATE + S_PHASE);
    if (phase == P_ERROR) return;
    if (phase == P_SKIP) {
      const skip = load<u32>(ZSTATE + S_SKIP);
      const n = <u32>min<usize>(<usize>skip, end - p);
      p += <usize>n;
      store<u32>(ZSTATE + S_SKIP, skip - n);
      if (skip == n) afterSkip();
      continue;
    }
    const accN = load<u32>(ZSTATE + S_ACC_N);
    const have = accN & 0xffff;
    const want = accN >> 16;
    const acc = load<u32>(ZSTATE + S_ACC) | (<u32>load<u8>(p) << (have << 3));
    p++;
    if (have + 1 == want) {
      field(phase, acc);
    } else {
      store<u32>(ZSTATE + S_ACC, acc);
      store<u32>(ZSTATE + S_ACC_N, (want << 16) | (have + 1));
    }
  }
}

/** ZSTD_OK when the stream ended right after a complete frame. */
export function zstdScanFinish(): i32 {
  const phase = load<u32>(ZSTATE + S_PHASE);
  if (phase == P_ERROR) return ZSTD_BAD;
  if (phase == P_MAGIC && (load<u32>(ZSTATE + S_ACC_N) & 0xffff) == 0 && load<u32>(ZSTATE + S_FRAMES) > 0) return ZSTD_OK;
  return ZSTD_TRUNCATED;
}
