import { describe, expect, test } from "bun:test";
import { zstdCompressSync } from "node:zlib";
import { ZstdFrameScanner } from "../../core-as/index";

function scan(bytes: Uint8Array, step = bytes.length || 1): string {
  const s = new ZstdFrameScanner();
  for (let off = 0; off < bytes.length; off += step) s.update(bytes.subarray(off, off + step));
  return s.finish();
}

const big = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
const frame = new Uint8Array(zstdCompressSync(big));
const small = new Uint8Array(zstdCompressSync(new TextEncoder().encode("hello hello hello")));

describe("zstd frame scanner (WASM core)", () => {
  test("a whole stream ends at a frame boundary, however it is chunked", () => {
    for (const step of [1, 7, 4096, frame.length]) expect(scan(frame, step)).toBe("ok");
  });
  test("several frames and skippable frames", () => {
    expect(scan(new Uint8Array([...small, ...small]))).toBe("ok");
    expect(scan(new Uint8Array([0x5a, 0x2a, 0x4d, 0x18, 2, 0, 0, 0, 9, 9, ...small]), 3)).toBe("ok");
  });
  test("every cut of a small stream is truncated", () => {
    for (let n = 0; n < small.length; n++) expect(scan(small.subarray(0, n))).toBe("truncated");
  });
  test("cuts of a large stream are truncated", () => {
    for (const n of [4, 5, 100, frame.length >> 1, frame.length - 1]) expect(scan(frame.subarray(0, n), 1000)).toBe("truncated");
  });
  test("data that is not zstd is bad", () => {
    expect(scan(new TextEncoder().encode("not a zstd stream"))).toBe("bad");
  });
});
