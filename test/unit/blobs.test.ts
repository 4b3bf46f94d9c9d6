import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blobPath, hasBlob } from "../../cli/lib/store/blob-path";
import { putBlob, putBlobBytes } from "../../cli/lib/store/blobs";
import { digestOf } from "../../cli/lib/image/digest";
import { paths } from "../../cli/lib/paths";

function store() {
  const root = mkdtempSync(join(tmpdir(), "rl-blobs-"));
  return { p: paths({ RL_ROOT: root, HOME: root }), done: () => rmSync(root, { recursive: true, force: true }) };
}
async function* chunked(...parts: string[]) {
  for (const s of parts) yield new TextEncoder().encode(s);
}

describe("blob store", () => {
  test("a streamed blob lands under its digest", async () => {
    const { p, done } = store();
    const d = digestOf(new TextEncoder().encode("hello world"));
    expect(hasBlob(p, d)).toBe(false);
    const path = await putBlob(p, d, chunked("hello ", "world"), 11);
    expect(path).toBe(blobPath(p, d));
    expect(readFileSync(path, "utf8")).toBe("hello world");
    expect(hasBlob(p, d)).toBe(true);
    done();
  });

  test("wrong bytes or size leave nothing behind", async () => {
    const { p, done } = store();
    const d = digestOf(new TextEncoder().encode("hello world"));
    await expect(putBlob(p, d, chunked("hello there"))).rejects.toThrow(/does not match its digest/);
    await expect(putBlob(p, d, chunked("hello world"), 5)).rejects.toThrow(/larger than its declared size 5/);
    await expect(putBlob(p, d, chunked("hello"), 11)).rejects.toThrow(/has 5 bytes, its descriptor says 11/);
    expect(hasBlob(p, d)).toBe(false);
    expect(readdirSync(p.tmp)).toEqual([]);
    done();
  });

  test("only sha256 digests are accepted", async () => {
    const { p, done } = store();
    expect(() => blobPath(p, "sha512:abc")).toThrow(/sha256 digests only/);
    expect(() => blobPath(p, "sha256:../../etc")).toThrow(/unsupported digest/);
    await putBlobBytes(p, digestOf(new Uint8Array()), new Uint8Array());
    expect(existsSync(join(p.blobs, "sha256"))).toBe(true);
    done();
  });
});
