import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chainIds, digestMatches, digestOf, newDigester } from "../../cli/lib/image/digest";
import { engineChoice, DIGEST_ENGINES, measureEngines, type DigestEngine } from "../../cli/lib/image/digest-engine";
import { indexTarFile } from "../../cli/lib/image/tar-entries";

const enc = new TextEncoder();
const FIXTURES = resolve(import.meta.dir, "../../../shared/fixtures");

// FIPS 180-2 appendix B and the NIST example values.
const VECTORS: [string, Uint8Array, string][] = [
  ["empty", new Uint8Array(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", enc.encode("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  ["448 bits", enc.encode("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"],
  ["896 bits", enc.encode("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"],
  ["one million 'a'", new Uint8Array(1_000_000).fill(0x61), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
];

function digestChunks(engine: DigestEngine, parts: Uint8Array[]): string {
  const d = newDigester(engine);
  for (const p of parts) d.update(p);
  return d.digest();
}

/** Deterministic bytes; 300 of them cover padding into a second block and several full blocks. */
const MESSAGE = Uint8Array.from({ length: 300 }, (_, i) => (i * 31 + 7) & 0xff);
const MESSAGE_HEX = new Bun.CryptoHasher("sha256").update(MESSAGE).digest("hex");

describe.each(DIGEST_ENGINES.map((e) => [e]))("sha256 engine %s", (engine) => {
  test.each(VECTORS)("FIPS 180 vector: %s", (_name, bytes, hex) => {
    expect(digestOf(bytes, engine)).toBe(`sha256:${hex}`);
  });

  test("every padding length: messages of 0..130 bytes match Bun's hasher", () => {
    for (let n = 0; n <= 130; n++) {
      const m = MESSAGE.subarray(0, n);
      expect(digestOf(m, engine)).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(m).digest("hex")}`);
    }
  });

  test("a message split in two at every boundary gives the same digest", () => {
    for (let i = 0; i <= MESSAGE.length; i++) {
      expect(digestChunks(engine, [MESSAGE.subarray(0, i), MESSAGE.subarray(i)])).toBe(`sha256:${MESSAGE_HEX}`);
    }
  });

  test("split in three at every pair of boundaries in the first 140 bytes", () => {
    for (let i = 0; i <= 140; i++) {
      for (let j = i; j <= 140; j++) {
        const got = digestChunks(engine, [MESSAGE.subarray(0, i), MESSAGE.subarray(i, j), MESSAGE.subarray(j)]);
        if (got !== `sha256:${MESSAGE_HEX}`) throw new Error(`split at ${i},${j}: ${got}`);
      }
    }
  });

  test("byte-at-a-time and one update larger than the core's input area", () => {
    expect(digestChunks(engine, Array.from(MESSAGE, (b) => Uint8Array.of(b)))).toBe(`sha256:${MESSAGE_HEX}`);
    const big = VECTORS[4]![1];
    expect(digestChunks(engine, [big.subarray(0, 3), big.subarray(3)])).toBe(`sha256:${VECTORS[4]![2]}`);
  });

  test("digests in flight at the same time do not disturb each other", () => {
    const a = newDigester(engine);
    const b = newDigester(engine);
    for (let i = 0; i < MESSAGE.length; i += 10) {
      a.update(MESSAGE.subarray(i, i + 10));
      b.update(VECTORS[2]![1].subarray(i % 56, (i % 56) + 1));
      chainIds([`sha256:${"1".repeat(64)}`, `sha256:${"2".repeat(64)}`]); // uses the core's context area too
    }
    expect(a.digest()).toBe(`sha256:${MESSAGE_HEX}`);
    expect(b.digest()).toBe(digestOf(Uint8Array.from({ length: 30 }, (_, k) => VECTORS[2]![1][(k * 10) % 56]!), "native"));
  });

  test("digestMatches compares in the core: match, mismatch, malformed", () => {
    const hit = newDigester(engine);
    hit.update(enc.encode("abc"));
    expect(digestMatches(hit, `sha256:${VECTORS[1]![2]}`)).toBe(true);
    const flipped = VECTORS[1]![2].replace(/.$/, "c");
    for (const bad of [`sha256:${flipped}`, `sha256:${VECTORS[1]![2].toUpperCase()}`, VECTORS[1]![2], `sha512:${VECTORS[1]![2]}`, `sha256:${VECTORS[1]![2]}0`, ""]) {
      const d = newDigester(engine);
      d.update(enc.encode("abc"));
      expect(digestMatches(d, bad)).toBe(false);
    }
  });
});

describe("chain ids", () => {
  const a = `sha256:${"a".repeat(64)}`;
  const b = `sha256:${"b".repeat(64)}`;
  const c = `sha256:${"c".repeat(64)}`;
  test("follow the OCI definition", () => {
    const ab = `sha256:${new Bun.CryptoHasher("sha256").update(`${a} ${b}`).digest("hex")}`;
    const abc = `sha256:${new Bun.CryptoHasher("sha256").update(`${ab} ${c}`).digest("hex")}`;
    expect(chainIds([a])).toEqual([a]);
    expect(chainIds([a, b, c])).toEqual([a, ab, abc]);
    expect(chainIds([])).toEqual([]);
  });
  test("a malformed diff_id is refused, naming it", () => {
    expect(() => chainIds([a, "sha256:xyz"])).toThrow('invalid diff_id "sha256:xyz"');
    expect(() => chainIds([`sha256:${"G".repeat(64)}`])).toThrow("invalid diff_id");
  });
});

/** Every blob of every fixture OCI layout and oci-archive, as (label, bytes, expected digest). */
async function fixtureBlobs(): Promise<[string, Uint8Array, string][]> {
  const out: [string, Uint8Array, string][] = [];
  for (const layout of readdirSync(join(FIXTURES, "oci"))) {
    const dir = join(FIXTURES, "oci", layout, "blobs/sha256");
    for (const hex of readdirSync(dir)) out.push([`${layout}/${hex.slice(0, 12)}`, readFileSync(join(dir, hex)), `sha256:${hex}`]);
  }
  for (const archive of readdirSync(join(FIXTURES, "archives"))) {
    const file = join(FIXTURES, "archives", archive);
    const bytes = readFileSync(file);
    for (const [name, m] of await indexTarFile(file)) {
      const hex = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(name)?.[1];
      if (hex) out.push([`${archive}/${hex.slice(0, 12)}`, bytes.subarray(m.offset, m.offset + m.size), `sha256:${hex}`]);
    }
  }
  return out;
}

describe.skipIf(!existsSync(FIXTURES))("fixtures", () => {
  test("both engines reproduce every blob digest of every fixture layout and archive", async () => {
    const blobs = await fixtureBlobs();
    expect(blobs.length).toBeGreaterThan(50);
    for (const engine of DIGEST_ENGINES) {
      for (const [label, bytes, digest] of blobs) {
        const d = newDigester(engine);
        // in uneven chunks, as a stream would deliver them
        for (let off = 0; off < bytes.length; off += 99_991) d.update(bytes.subarray(off, off + 99_991));
        if (!digestMatches(d, digest)) throw new Error(`${engine}: ${label} does not hash to ${digest}`);
      }
    }
  });
});

describe("engine choice", () => {
  test("measures both engines, caches the result in the runtime dir, and RL_DIGEST_ENGINE overrides", () => {
    const root = mkdtempSync(join(tmpdir(), "rl-digest-"));
    try {
      const env = { RL_RUNROOT: join(root, "run"), HOME: root };
      const first = engineChoice(env);
      expect(first.speeds.native).toBeGreaterThan(0);
      expect(first.speeds.wasm).toBeGreaterThan(0);
      expect(first.engine).toBe(first.speeds.wasm > first.speeds.native ? "wasm" : "native");
      expect(first.forced).toBe(false);
      const cached = JSON.parse(readFileSync(join(root, "run", "digest-engines.json"), "utf8"));
      expect(cached).toEqual(first.speeds);
      expect(engineChoice(env).speeds).toEqual(first.speeds); // read back, not measured again
      for (const e of DIGEST_ENGINES) expect(engineChoice({ ...env, RL_DIGEST_ENGINE: e })).toMatchObject({ engine: e, forced: true });
      expect(() => engineChoice({ ...env, RL_DIGEST_ENGINE: "md5" })).toThrow('RL_DIGEST_ENGINE must be "native" or "wasm", not "md5"');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("measureEngines reports MB/s for each engine", () => {
    const s = measureEngines(1 << 20);
    expect(Object.keys(s).sort()).toEqual(["native", "wasm"]);
    expect(s.native).toBeGreaterThan(0);
    expect(s.wasm).toBeGreaterThan(0);
  });
});
