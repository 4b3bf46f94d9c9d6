// Streaming SHA-256 (FIPS 180-4) over fixed areas of linear memory: no allocation per call.
// JS copies a context into CTX, input into INPUT, calls sha256Update(len) as often as needed,
// then sha256Final() writes the digest to DIGEST. Several digests run interleaved by saving
// and restoring their 112-byte contexts (core-as/index.ts does that).
import { sha256Blocks } from "./sha256-blocks";

/** Context: state words (0..31), total length in bytes as u64 (32), pending count u32 (40), pending bytes (48..111). */
export const CTX: usize = memory.data(112, 16);
export const CTX_SIZE: u32 = 112;
const CTX_TOTAL: usize = 32;
const CTX_PENDING: usize = 40;
const CTX_BUF: usize = 48;

/** Input area; callers feed at most INPUT_SIZE bytes per sha256Update. */
export const INPUT_SIZE: u32 = 1 << 18;
export const INPUT: usize = memory.data(INPUT_SIZE, 16);

/** The 32-byte digest, then its 71-character "sha256:<hex>" form. */
export const DIGEST: usize = memory.data(112, 16);
const DIGEST_TEXT: usize = DIGEST + 32;

export function sha256Init(): void {
  store<u32>(CTX, 0x6a09e667, 0);
  store<u32>(CTX, 0xbb67ae85, 4);
  store<u32>(CTX, 0x3c6ef372, 8);
  store<u32>(CTX, 0xa54ff53a, 12);
  store<u32>(CTX, 0x510e527f, 16);
  store<u32>(CTX, 0x9b05688c, 20);
  store<u32>(CTX, 0x1f83d9ab, 24);
  store<u32>(CTX, 0x5be0cd19, 28);
  store<u64>(CTX + CTX_TOTAL, 0);
  store<u32>(CTX + CTX_PENDING, 0);
}

/** Hashes `len` bytes at `p` into the context at CTX. */
function absorb(p: usize, len: usize): void {
  store<u64>(CTX + CTX_TOTAL, load<u64>(CTX + CTX_TOTAL) + <u64>len);
  let pending = <usize>load<u32>(CTX + CTX_PENDING);
  if (pending > 0) {
    const take = min<usize>(64 - pending, len);
    memory.copy(CTX + CTX_BUF + pending, p, take);
    pending += take;
    p += take;
    len -= take;
    if (pending < 64) {
      store<u32>(CTX + CTX_PENDING, <u32>pending);
      return;
    }
    sha256Blocks(CTX, CTX + CTX_BUF, 1);
  }
  const n = len >> 6;
  if (n > 0) sha256Blocks(CTX, p, n);
  const rest = len & 63;
  memory.copy(CTX + CTX_BUF, p + (n << 6), rest);
  store<u32>(CTX + CTX_PENDING, <u32>rest);
}

/** Hashes the first `len` (<= INPUT_SIZE) bytes of INPUT. */
export function sha256Update(len: u32): void {
  absorb(INPUT, <usize>min<u32>(len, INPUT_SIZE));
}

/** Pads, writes the digest to DIGEST and its text form after it. The context is spent. */
export function sha256Final(): void {
  const bits = load<u64>(CTX + CTX_TOTAL) << 3;
  let pending = <usize>load<u32>(CTX + CTX_PENDING);
  const buf = CTX + CTX_BUF;
  store<u8>(buf + pending, 0x80);
  pending++;
  if (pending > 56) {
    memory.fill(buf + pending, 0, 64 - pending);
    sha256Blocks(CTX, buf, 1);
    pending = 0;
  }
  memory.fill(buf + pending, 0, 56 - pending);
  store<u64>(buf + 56, bswap<u64>(bits));
  sha256Blocks(CTX, buf, 1);
  for (let i: usize = 0; i < 8; i++) store<u32>(DIGEST + (i << 2), bswap<u32>(load<u32>(CTX + (i << 2))));
  writeText(DIGEST, DIGEST_TEXT);
}

const HEX = memory.data<u8>([0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66]);

/** "sha256:" + 64 lowercase hex digits of the 32 bytes at `raw`. */
function writeText(raw: usize, text: usize): void {
  // "sha256:" little-endian: 's' 'h' 'a' '2' then '5' '6' ':'
  store<u32>(text, 0x32616873);
  store<u16>(text + 4, 0x3635);
  store<u8>(text + 6, 0x3a);
  for (let i: usize = 0; i < 32; i++) {
    const b = load<u8>(raw + i);
    store<u8>(text + 7 + (i << 1), load<u8>(HEX + (b >> 4)));
    store<u8>(text + 8 + (i << 1), load<u8>(HEX + (b & 15)));
  }
}

/** Value of a lowercase hex digit, or -1. Upper case is not a valid OCI digest. */
function hexValue(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>(c - 0x30);
  if (c >= 0x61 && c <= 0x66) return <i32>(c - 0x61 + 10);
  return -1;
}

const SPACE = memory.data<u8>([0x20]);

/** Whether the 71 bytes at `p` are "sha256:" + 64 lowercase hex digits. */
function isDigestText(p: usize): bool {
  if (load<u32>(p) != 0x32616873 || load<u16>(p + 4) != 0x3635 || load<u8>(p + 6) != 0x3a) return false;
  for (let i: usize = 7; i < 71; i++) if (hexValue(load<u8>(p + i)) < 0) return false;
  return true;
}

export const DIGEST_MATCH: i32 = 0;
export const DIGEST_MISMATCH: i32 = 1;
export const DIGEST_MALFORMED: i32 = 2;

/**
 * Compares the 32 bytes at DIGEST with the expected digest text of `len` bytes at INPUT
 * ("sha256:" + 64 lowercase hex). Every byte is compared, whatever differs first.
 */
export function digestCompare(len: u32): i32 {
  if (len != 71 || !isDigestText(INPUT)) return DIGEST_MALFORMED;
  let diff: u32 = 0;
  for (let i: usize = 0; i < 32; i++) {
    const hi = hexValue(load<u8>(INPUT + 7 + (i << 1)));
    const lo = hexValue(load<u8>(INPUT + 8 + (i << 1)));
    diff |= <u32>((hi << 4) | lo) ^ <u32>load<u8>(DIGEST + i);
  }
  return diff == 0 ? DIGEST_MATCH : DIGEST_MISMATCH;
}

/**
 * Chain ids (OCI image spec): INPUT holds `count` diff ids of 71 bytes each ("sha256:<hex>");
 * each is replaced in place by the chain id of the stack up to it:
 * chain[0] = diff[0], chain[n] = sha256(chain[n-1] + " " + diff[n]).
 * Returns the index of the first malformed diff id, or -1.
 */
export function chainIds(count: u32): i32 {
  if (count * 71 > INPUT_SIZE) return 0;
  for (let n: u32 = 0; n < count; n++) {
    const d = INPUT + <usize>(n * 71);
    if (!isDigestText(d)) return <i32>n;
    if (n == 0) continue;
    // d - 71 already holds chain[n-1].
    sha256Init();
    absorb(d - 71, 71);
    absorb(SPACE, 1);
    absorb(d, 71);
    sha256Final();
    memory.copy(d, DIGEST_TEXT, 71);
  }
  return -1;
}
