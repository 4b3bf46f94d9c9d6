import { describe, expect, test } from "bun:test";
import { parseTarHeader } from "../../core-as/index";

type Magic = "ustar" | "gnu" | "v7" | "star";

interface HeaderSpec {
  name?: string;
  prefix?: string;
  linkname?: string;
  typeflag?: string;
  magic?: Magic;
  /** Raw field bytes by offset, written last (before the checksum). */
  raw?: [number, Uint8Array | string][];
  fields?: Partial<Record<"mode" | "uid" | "gid" | "size" | "mtime" | "devmajor" | "devminor", string | Uint8Array>>;
  checksum?: "unsigned" | "signed" | ((unsigned: number, signed: number) => string);
}

const FIELD_AT = { mode: [100, 8], uid: [108, 8], gid: [116, 8], size: [124, 12], mtime: [136, 12], devmajor: [329, 8], devminor: [337, 8] } as const;
const enc = new TextEncoder();

function put(block: Uint8Array, at: number, value: Uint8Array | string): void {
  block.set(typeof value === "string" ? enc.encode(value) : value, at);
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** Builds a 512-byte header; numeric fields default to valid octal. */
function header(spec: HeaderSpec): Uint8Array {
  const b = new Uint8Array(512);
  put(b, 0, spec.name ?? "file.txt");
  const defaults = { mode: octal(0o644, 8), uid: octal(1000, 8), gid: octal(100, 8), size: octal(5, 12), mtime: octal(1700000000, 12), devmajor: octal(0, 8), devminor: octal(0, 8) };
  const magic = spec.magic ?? "ustar";
  for (const [key, [at]] of Object.entries(FIELD_AT)) {
    if ((key === "devmajor" || key === "devminor") && magic === "v7") continue;
    put(b, at, spec.fields?.[key as keyof typeof FIELD_AT] ?? defaults[key as keyof typeof defaults]);
  }
  put(b, 156, spec.typeflag ?? "0");
  put(b, 157, spec.linkname ?? "");
  if (magic === "ustar" || magic === "star") put(b, 257, "ustar\u000000");
  if (magic === "gnu") put(b, 257, "ustar  \0");
  if (magic === "star") put(b, 508, "tar\0");
  if (spec.prefix) put(b, 345, spec.prefix);
  for (const [at, v] of spec.raw ?? []) put(b, at, v);
  b.fill(0x20, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (const c of b) {
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const cs = spec.checksum ?? "unsigned";
  const text = typeof cs === "function" ? cs(unsigned, signed) : octal(cs === "unsigned" ? unsigned : signed, 7) + " ";
  put(b, 148, text);
  return b;
}

/** GNU base-256: high bit set, big-endian two's complement in the remaining bits. */
function base256(n: bigint, width: number): Uint8Array {
  const out = new Uint8Array(width);
  let v = BigInt.asUintN(width * 8, n);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0] = n < 0n ? out[0]! | 0x80 : 0x80 | (out[0]! & 0x7f);
  return out;
}

describe("parseTarHeader", () => {
  test("all-zero block is the end marker", () => {
    expect(parseTarHeader(new Uint8Array(512))).toBe("end");
  });

  test("reads only the first 512 bytes of a longer view", () => {
    const big = new Uint8Array(1024);
    big.set(header({ name: "a" }));
    big.fill(0xff, 512);
    expect(parseTarHeader(big)).toMatchObject({ name: "a" });
  });

  test("rejects a short block", () => {
    expect(() => parseTarHeader(new Uint8Array(100))).toThrow(/512/);
  });

  const cases: { name: string; spec: HeaderSpec; want: Record<string, unknown> }[] = [
    {
      name: "ustar octal fields",
      spec: { name: "etc/passwd", typeflag: "0" },
      want: { name: "etc/passwd", typeflag: "0", mode: 0o644, uid: 1000, gid: 100, size: 5, mtime: 1700000000, format: "ustar", linkname: "" },
    },
    {
      name: "ustar prefix is joined",
      spec: { name: "leaf.txt", prefix: "a".repeat(150) },
      want: { name: `${"a".repeat(150)}/leaf.txt` },
    },
    {
      name: "full 100-byte name and 155-byte prefix without NULs",
      spec: { name: "n".repeat(100), prefix: "p".repeat(155), linkname: "l".repeat(100), typeflag: "2" },
      want: { name: `${"p".repeat(155)}/${"n".repeat(100)}`, linkname: "l".repeat(100), typeflag: "2" },
    },
    {
      name: "GNU format ignores the prefix area",
      spec: { name: "x", magic: "gnu", raw: [[345, octal(1700000000, 12)]] },
      want: { name: "x", format: "gnu" },
    },
    {
      name: "star keeps a 131-byte prefix",
      spec: { name: "x", magic: "star", prefix: "dir", raw: [[476, octal(1, 12)]] },
      want: { name: "dir/x", format: "star" },
    },
    {
      name: "v7 has no device numbers or prefix",
      spec: { name: "old", magic: "v7", typeflag: "\0", raw: [[329, "zz"]] },
      want: { name: "old", typeflag: "\0", format: "v7", devmajor: 0, devminor: 0 },
    },
    {
      name: "device numbers",
      spec: { typeflag: "3", fields: { devmajor: octal(1, 8), devminor: octal(3, 8) } },
      want: { typeflag: "3", devmajor: 1, devminor: 3 },
    },
    {
      name: "octal with leading spaces and no terminator",
      spec: { fields: { size: "   123", uid: "  17 \0", mtime: "777777777777" } },
      want: { size: 0o123, uid: 0o17, mtime: 0o777777777777 },
    },
    {
      name: "all-NUL numeric field is zero",
      spec: { fields: { gid: new Uint8Array(8) } },
      want: { gid: 0 },
    },
    {
      name: "base-256 uid, gid and size",
      spec: { fields: { uid: base256(3_000_000_000n, 8), gid: base256(70_000n, 8), size: base256(10n * 2n ** 33n, 12) } },
      want: { uid: 3_000_000_000, gid: 70_000, size: 10 * 2 ** 33 },
    },
    {
      name: "negative base-256 mtime",
      spec: { fields: { mtime: base256(-1n, 12) } },
      want: { mtime: -1 },
    },
    {
      name: "negative base-256 mtime, larger",
      spec: { fields: { mtime: base256(-2208988800n, 12) } },
      want: { mtime: -2208988800 },
    },
    {
      name: "signed checksum sum (bytes >= 0x80)",
      spec: { name: "caf\u00e9-\u00fc\u00df", checksum: "signed" },
      want: { name: "caf\u00e9-\u00fc\u00df" },
    },
    {
      name: "unsigned checksum sum (bytes >= 0x80)",
      spec: { name: "caf\u00e9", checksum: "unsigned" },
      want: { name: "caf\u00e9" },
    },
    {
      name: "checksum written as six digits, NUL, space",
      spec: { checksum: (u) => `${u.toString(8).padStart(6, "0")}\0 ` },
      want: { name: "file.txt" },
    },
    {
      name: "checksum with leading spaces",
      spec: { checksum: (u) => `${u.toString(8).padStart(7, " ")}\0` },
      want: { name: "file.txt" },
    },
    {
      name: "mode keeps high bits for the caller to mask",
      spec: { fields: { mode: octal(0o100755, 8) } },
      want: { mode: 0o100755 },
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      expect(parseTarHeader(header(c.spec))).toMatchObject(c.want);
    });
  }

  const bad: { name: string; block: () => Uint8Array; error: RegExp }[] = [
    {
      name: "bad checksum",
      block: () => {
        const b = header({});
        b[0]! ^= 1;
        return b;
      },
      error: /invalid tar header checksum/,
    },
    { name: "checksum not octal", block: () => header({ checksum: () => "abcdefg\0" }), error: /invalid tar header checksum/ },
    { name: "checksum off by one", block: () => header({ checksum: (u) => octal(u + 1, 7) + " " }), error: /invalid tar header checksum/ },
    { name: "non-zero block of garbage", block: () => new Uint8Array(512).fill(0x41), error: /checksum/ },
    { name: "octal size with a bad digit", block: () => header({ fields: { size: "0000000009\0" } }), error: /invalid size field/ },
    { name: "octal uid with junk after digits", block: () => header({ fields: { uid: "0017x\0" } }), error: /invalid uid field/ },
    { name: "base-256 size beyond 2^53", block: () => header({ fields: { size: base256(2n ** 60n, 12) } }), error: /invalid size field/ },
    { name: "base-256 mtime below -2^53", block: () => header({ fields: { mtime: base256(-(2n ** 60n), 12) } }), error: /invalid mtime field/ },
    { name: "base-256 value wider than 64 bits", block: () => header({ fields: { size: new Uint8Array([0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) } }), error: /invalid size field/ },
  ];
  for (const c of bad) {
    test(`throws on ${c.name}`, () => {
      expect(() => parseTarHeader(c.block())).toThrow(c.error);
    });
  }
});
