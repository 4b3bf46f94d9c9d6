import { describe, expect, test } from "bun:test";
import { TarHeaderReader, type TarEntryHeader, WasmSha256 } from "../../core-as/index";
import { paxRecord } from "../../cli/lib/image/tar-writer";

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

/** One header block read by a fresh reader. */
function parseTarHeader(block: Uint8Array) {
  return new TarHeaderReader().header(block);
}

describe("TarHeaderReader: header blocks", () => {
  test("all-zero block is the end marker", () => {
    expect(parseTarHeader(new Uint8Array(512))).toBe("end");
  });

  test("reads only the first 512 bytes of a longer view", () => {
    const big = new Uint8Array(1024);
    big.set(header({ name: "a" }));
    big.fill(0xff, 512);
    expect(parseTarHeader(big)).toMatchObject({ path: "a" });
  });

  test("rejects a short block", () => {
    expect(() => parseTarHeader(new Uint8Array(100))).toThrow(/512/);
  });

  const cases: { name: string; spec: HeaderSpec; want: Record<string, unknown> }[] = [
    {
      name: "ustar octal fields",
      spec: { name: "etc/passwd", typeflag: "0" },
      want: { path: "etc/passwd", type: "file", mode: 0o644, uid: 1000, gid: 100, size: 5, mtime: 1700000000, linkpath: "", xattrs: {} },
    },
    {
      name: "ustar prefix is joined",
      spec: { name: "leaf.txt", prefix: "a".repeat(150) },
      want: { path: `${"a".repeat(150)}/leaf.txt` },
    },
    {
      name: "full 100-byte name and 155-byte prefix without NULs",
      spec: { name: "n".repeat(100), prefix: "p".repeat(155), linkname: "l".repeat(100), typeflag: "2" },
      want: { path: `${"p".repeat(155)}/${"n".repeat(100)}`, linkpath: "l".repeat(100), type: "symlink", size: 0 },
    },
    {
      name: "GNU format ignores the prefix area",
      spec: { name: "x", magic: "gnu", raw: [[345, octal(1700000000, 12)]] },
      want: { path: "x" },
    },
    {
      name: "star keeps a 131-byte prefix",
      spec: { name: "x", magic: "star", prefix: "dir", raw: [[476, octal(1, 12)]] },
      want: { path: "dir/x" },
    },
    {
      name: "v7 has no device numbers or prefix",
      spec: { name: "old", magic: "v7", typeflag: "\0", raw: [[329, "zz"]] },
      want: { path: "old", type: "file", devmajor: 0, devminor: 0 },
    },
    {
      name: "device numbers",
      spec: { typeflag: "3", fields: { devmajor: octal(1, 8), devminor: octal(3, 8) } },
      want: { type: "char", devmajor: 1, devminor: 3, size: 0 },
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
      want: { path: "caf\u00e9-\u00fc\u00df" },
    },
    {
      name: "unsigned checksum sum (bytes >= 0x80)",
      spec: { name: "caf\u00e9", checksum: "unsigned" },
      want: { path: "caf\u00e9" },
    },
    {
      name: "checksum written as six digits, NUL, space",
      spec: { checksum: (u) => `${u.toString(8).padStart(6, "0")}\0 ` },
      want: { path: "file.txt" },
    },
    {
      name: "checksum with leading spaces",
      spec: { checksum: (u) => `${u.toString(8).padStart(7, " ")}\0` },
      want: { path: "file.txt" },
    },
    {
      name: "mode is cut to the permission bits",
      spec: { fields: { mode: octal(0o104755, 8) } },
      want: { mode: 0o4755 },
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

// ---- pax and GNU metadata entries ----

const dec = new TextDecoder();

function paxBody(records: [string, Uint8Array | string][]): Uint8Array {
  return new Uint8Array(Buffer.concat(records.map(([k, v]) => paxRecord(k, v))));
}

interface Member {
  typeflag: string;
  name?: string;
  /** Metadata entries: the body (its length goes into the size field). */
  body?: Uint8Array | string;
  spec?: HeaderSpec;
}

/** Reads the members' headers with one reader (metadata bodies fed in two pieces); returns the entries. */
function readMembers(members: Member[], reader = new TarHeaderReader()): TarEntryHeader[] {
  const out: TarEntryHeader[] = [];
  for (const m of members) {
    const body = typeof m.body === "string" ? enc.encode(m.body) : (m.body ?? new Uint8Array(0));
    const fields = m.body === undefined ? m.spec?.fields : { size: octal(body.length, 12), ...m.spec?.fields };
    const r = reader.header(header({ name: m.name ?? "entry", typeflag: m.typeflag, ...m.spec, fields }));
    if (r === "meta") {
      expect(reader.metaSize).toBe(body.length);
      const half = body.length >> 1;
      reader.metaData(body.subarray(0, half));
      reader.metaData(body.subarray(half));
      reader.metaEnd();
    } else if (r !== "end") out.push(r);
  }
  return out;
}

const pax = (records: [string, Uint8Array | string][]): Member => ({ typeflag: "x", name: "PaxHeaders/e", body: paxBody(records) });
const globalPax = (records: [string, Uint8Array | string][]): Member => ({ typeflag: "g", name: "pax_global_header", body: paxBody(records) });
const file = (name: string, spec: HeaderSpec = {}): Member => ({ typeflag: "0", name, spec });

describe("TarHeaderReader: pax and GNU metadata entries", () => {
  test("pax path and linkpath longer than 100 and 255 bytes", () => {
    const path = `${"d\u00fcr/".repeat(60)}file`;
    const link = `${"t".repeat(300)}/target`;
    const [e] = readMembers([pax([["path", path], ["linkpath", link]]), { typeflag: "2", name: "short", spec: { linkname: "short-link" } }]);
    expect(enc.encode(path).length).toBeGreaterThan(255);
    expect(e).toMatchObject({ path, linkpath: link, type: "symlink", size: 0 });
  });

  test("GNU 'L' and 'K' long names, cut at their NUL; a directory loses its trailing slashes", () => {
    const name = `${"n".repeat(120)}/${"m".repeat(150)}`;
    const target = "k".repeat(260);
    const entries = readMembers([
      { typeflag: "L", name: "././@LongLink", body: `${name}\0junk after the NUL` },
      { typeflag: "K", name: "././@LongLink", body: `${target}\0` },
      { typeflag: "1", name: "trunc", spec: { linkname: "trunc" } },
      { typeflag: "L", name: "././@LongLink", body: `${name}//\0` },
      { typeflag: "5", name: "trunc/" },
      file("plain"),
    ]);
    expect(entries.map((e) => [e.path, e.type, e.linkpath, e.size])).toEqual([
      [name, "hardlink", target, 0],
      [name, "dir", "", 0],
      ["plain", "file", "", 5],
    ]);
  });

  test("per-file pax beats GNU long names, which beat the header", () => {
    const entries = readMembers([
      { typeflag: "L", name: "././@LongLink", body: "from-L\0" },
      { typeflag: "K", name: "././@LongLink", body: "link-from-K\0" },
      pax([["path", "from-pax"]]),
      { typeflag: "2", name: "from-header", spec: { linkname: "link-from-header" } },
      { typeflag: "L", name: "././@LongLink", body: "from-L-again\0" },
      pax([["linkpath", "link-from-pax"]]),
      { typeflag: "2", name: "from-header", spec: { linkname: "link-from-header" } },
    ]);
    expect(entries.map((e) => [e.path, e.linkpath])).toEqual([
      ["from-pax", "link-from-K"],
      ["from-L-again", "link-from-pax"],
    ]);
  });

  test("xattrs: binary SCHILY values, LIBARCHIVE names and values; later records win, an empty value removes", () => {
    const bin = new Uint8Array([0, 10, 61, 32, 255, 0x0a, 0xc3]);
    const [e, next] = readMembers([
      pax([
        ["SCHILY.xattr.user.bin", bin],
        ["SCHILY.xattr.security.capability", new Uint8Array([1, 0, 0, 2])],
        ["SCHILY.xattr.user.gone", "x"],
        ["LIBARCHIVE.xattr.user.caf%C3%A9%20x", Buffer.from([0, 1, 2, 250]).toString("base64")],
        ["SCHILY.xattr.user.over", "first"],
        ["uname", "ignored"],
        ["comment", "ignored"],
      ]),
      pax([
        ["SCHILY.xattr.user.gone", ""],
        ["SCHILY.xattr.user.over", "second"],
      ]),
      file("f"),
      file("g"),
    ]);
    expect(Object.keys(e!.xattrs)).toEqual(["user.bin", "security.capability", "user.caf\u00e9 x", "user.over"]);
    expect(e!.xattrs["user.bin"]).toEqual(bin);
    expect(e!.xattrs["security.capability"]).toEqual(new Uint8Array([1, 0, 0, 2]));
    expect(e!.xattrs["user.caf\u00e9 x"]).toEqual(new Uint8Array([0, 1, 2, 250]));
    expect(dec.decode(e!.xattrs["user.over"])).toBe("second");
    // Per-file records apply to one entry only.
    expect(next!.xattrs).toEqual({});
  });

  test("pax size beyond 8 GiB, ids beyond the octal fields, fractional mtime", () => {
    const big = 10 * 2 ** 30 + 12345;
    const entries = readMembers([
      pax([["size", String(big)], ["uid", "4000000000"], ["gid", "0000012"], ["mtime", "1700000000.123456789"]]),
      file("big"),
      pax([["size", "3"]]),
      { typeflag: "1", name: "hard", spec: { linkname: "big" } },
      { typeflag: "1", name: "hard-no-pax", spec: { linkname: "big", fields: { size: octal(9, 12) } } },
    ]);
    expect(entries[0]).toMatchObject({ path: "big", size: big, uid: 4000000000, gid: 12, mtime: 1700000000.123456789 });
    // A hardlink carries data only in pax archives.
    expect(entries[1]).toMatchObject({ type: "hardlink", size: 3 });
    expect(entries[2]).toMatchObject({ type: "hardlink", size: 0 });
  });

  test("a global header changes no entry (as in docker and podman): its records are checked, then dropped", () => {
    const entries = readMembers([
      globalPax([
        ["path", "global-path"],
        ["size", "3"],
        ["uid", "7"],
        ["gid", "7"],
        ["mtime", "5"],
        ["SCHILY.xattr.user.g", "G"],
        ["LIBARCHIVE.xattr.user.l", "TA=="],
        ["comment", "git archive"],
      ]),
      file("a"),
      file("b"),
      pax([["uid", "9"], ["SCHILY.xattr.user.f", "F"]]),
      file("c"),
      globalPax([["linkpath", "global-link"], ["uid", "8"], ["mtime", ""]]),
      { typeflag: "L", name: "././@LongLink", body: "long-name\0" },
      { typeflag: "2", name: "d", spec: { linkname: "d-link" } },
      file("e"),
    ]);
    const summary = entries.map((e) => [e.path, e.linkpath, e.size, e.uid, e.gid, e.mtime, Object.keys(e.xattrs).join(",")]);
    expect(summary).toEqual([
      ["a", "", 5, 1000, 100, 1700000000, ""],
      ["b", "", 5, 1000, 100, 1700000000, ""],
      ["c", "", 5, 9, 100, 1700000000, "user.f"],
      ["long-name", "d-link", 0, 1000, 100, 1700000000, ""],
      ["e", "", 5, 1000, 100, 1700000000, ""],
    ]);
  });

  test("NUL padding after the last record ends the body", () => {
    const body = new Uint8Array(Buffer.concat([paxRecord("path", "padded"), new Uint8Array(40)]));
    expect(readMembers([{ typeflag: "x", body }, file("f")])[0]?.path).toBe("padded");
  });

  test("pendingMeta: per-file records waiting for their entry; a global header never waits", () => {
    const reader = new TarHeaderReader();
    readMembers([globalPax([["uid", "1"]])], reader);
    expect(reader.pendingMeta).toBe(false);
    readMembers([pax([["uid", "2"]])], reader);
    expect(reader.pendingMeta).toBe(true);
    expect(readMembers([file("f")], reader)[0]?.uid).toBe(2);
    expect(reader.pendingMeta).toBe(false);
    expect(readMembers([file("g")], reader)[0]?.uid).toBe(1000);
  });

  test("readers used in turn keep their own records, also in the middle of a body", () => {
    const a = new TarHeaderReader();
    const b = new TarHeaderReader();
    const body = paxBody([["path", "path-of-a"], ["SCHILY.xattr.user.a", "A"]]);
    expect(a.header(header({ name: "pa", typeflag: "x", fields: { size: octal(body.length, 12) } }))).toBe("meta");
    a.metaData(body.subarray(0, 10));
    expect(readMembers([globalPax([["uid", "3"]]), pax([["path", "path-of-b"]]), file("x")], b)[0]).toMatchObject({ path: "path-of-b", uid: 1000 });
    a.metaData(body.subarray(10));
    a.metaEnd();
    expect(readMembers([file("y")], a)[0]).toMatchObject({ path: "path-of-a", uid: 1000, xattrs: { "user.a": enc.encode("A") } });
    expect(readMembers([file("z")], b)[0]).toMatchObject({ path: "z", uid: 1000, xattrs: {} });
  });

  test("metadata bodies of several MiB (the core's memory grows; other users of it go on)", () => {
    const value = new Uint8Array(6 << 20);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7919) >> 3;
    const [e] = readMembers([pax([["SCHILY.xattr.user.big", value]]), file("f")]);
    expect(e!.xattrs["user.big"]).toEqual(value);
    const sha = new WasmSha256();
    sha.update(value);
    expect(Buffer.from(sha.sum()).toString("hex")).toBe(new Bun.CryptoHasher("sha256").update(value).digest("hex"));
  });

  const bad: { name: string; members: () => Member[]; error: RegExp }[] = [
    { name: "a record longer than the body", members: () => [{ typeflag: "x", body: "99 path=q\n" }], error: /^Cannot read pax header: invalid record length$/ },
    { name: "a record length that misses the newline", members: () => [{ typeflag: "x", body: "5 path=q\n" }], error: /^Cannot read pax header: invalid record length$/ },
    { name: "a record length with a non-digit", members: () => [{ typeflag: "x", body: "1x path=q\n" }], error: /^Cannot read pax header: invalid record length$/ },
    { name: "a record with no length", members: () => [{ typeflag: "x", body: "path=q\n" }], error: /^Cannot read pax header: record has no length$/ },
    { name: "a record length of 21 digits", members: () => [{ typeflag: "x", body: `${"0".repeat(21)} a=b\n` }], error: /^Cannot read pax header: record has no length$/ },
    { name: "a record with no '='", members: () => [{ typeflag: "x", body: "8 pathq\n" }], error: /^Cannot read pax header: record has no '='$/ },
    {
      name: "a record cut at the end of the body's block",
      members: () => [{ typeflag: "x", body: paxRecord("path", "p".repeat(600)).subarray(0, 512) }],
      error: /^Cannot read pax header: invalid record length$/,
    },
    { name: "a size with letters", members: () => [pax([["size", "12abc"]])], error: /^Cannot read pax header: invalid size "12abc"$/ },
    { name: "a size of 2^53", members: () => [pax([["size", "9007199254740992"]])], error: /^Cannot read pax header: invalid size "9007199254740992"$/ },
    { name: "a negative uid", members: () => [pax([["uid", "-5"]])], error: /^Cannot read pax header: invalid uid "-5"$/ },
    { name: "a fractional gid", members: () => [pax([["gid", "1.5"]])], error: /^Cannot read pax header: invalid gid "1.5"$/ },
    { name: "an mtime in words", members: () => [pax([["mtime", "yesterday"]])], error: /^Cannot read pax header: invalid mtime "yesterday"$/ },
    { name: "an mtime with an exponent", members: () => [pax([["mtime", "1e9"]])], error: /^Cannot read pax header: invalid mtime "1e9"$/ },
    { name: "an mtime ending in a dot", members: () => [pax([["mtime", "1."]])], error: /^Cannot read pax header: invalid mtime "1."$/ },
    { name: "an infinite mtime", members: () => [pax([["mtime", "9".repeat(400)]])], error: /^Cannot read pax header: invalid mtime "9{400}"$/ },
    { name: "an invalid value in a global header", members: () => [globalPax([["uid", "x"]])], error: /^Cannot read pax header: invalid uid "x"$/ },
    { name: "a record with no '=' in a global header", members: () => [{ typeflag: "g", body: "8 pathq\n" }], error: /^Cannot read pax header: record has no '='$/ },
    { name: "a bad LIBARCHIVE xattr name", members: () => [pax([["LIBARCHIVE.xattr.user.%zz", "YQ=="]])], error: /^Cannot read pax header: invalid xattr name in LIBARCHIVE\.xattr\.user\.%zz$/ },
    { name: "a GNU sparse major version without its minor", members: () => [pax([["GNU.sparse.major", "1"]])], error: /^Cannot read tar entry: unsupported GNU sparse format version$/ },
    { name: "a GNU sparse version 2.0", members: () => [pax([["GNU.sparse.major", "2"], ["GNU.sparse.minor", "0"]])], error: /^Cannot read tar entry: unsupported GNU sparse format version$/ },
    { name: "a GNU sparse member with no map", members: () => [{ typeflag: "S", name: "s" }], error: /^Cannot read tar entry s: invalid GNU sparse map$/ },
    { name: "a pax 0.0 numbytes before its offset", members: () => [pax([["GNU.sparse.numbytes", "1"], ["GNU.sparse.offset", "0"]])], error: /^Cannot read pax header: invalid GNU.sparse.numbytes "1"$/ },
    { name: "a pax 0.0 offset that is not a number", members: () => [pax([["GNU.sparse.offset", "x"]])], error: /^Cannot read pax header: invalid GNU.sparse.offset "x"$/ },
    { name: "a pax sparse size that is not a number", members: () => [pax([["GNU.sparse.realsize", "-1"]])], error: /^Cannot read pax header: invalid GNU.sparse.realsize "-1"$/ },
    { name: "a negative size", members: () => [file("neg", { fields: { size: base256(-1n, 12) } })], error: /^Cannot read tar entry neg: negative size$/ },
    {
      name: "a metadata entry over 64 MiB",
      members: () => [{ typeflag: "L", spec: { fields: { size: octal(64 * 2 ** 20 + 1, 12) } } }],
      error: /^Cannot read tar entry: L header of 67108865 bytes is too large$/,
    },
    {
      name: "a global header over 64 MiB",
      members: () => [{ typeflag: "g", spec: { fields: { size: octal(64 * 2 ** 20 + 1, 12) } } }],
      error: /^Cannot read tar entry: g header of 67108865 bytes is too large$/,
    },
  ];
  for (const c of bad) {
    test(`throws on ${c.name}`, () => {
      expect(() => readMembers([...c.members(), file("f")])).toThrow(c.error);
    });
  }
});

// ---- GNU sparse files ----

/** An old GNU header field pair (offset, numbytes) as 24 bytes of octal text. */
const gnuPair = (offset: number, length: number) => octal(offset, 12) + octal(length, 12);

/** An old GNU 'S' header: `pairs` in the header (at most 4), `extended` set when more follow. */
function oldGnu(name: string, pairs: [number, number][], realsize: number, stored: number, extended = false): Uint8Array {
  return header({
    name,
    typeflag: "S",
    magic: "gnu",
    fields: { size: octal(stored, 12) },
    raw: [[386, pairs.map(([o, n]) => gnuPair(o, n)).join("")], [482, extended ? "\x01" : "\0"], [483, octal(realsize, 12)]],
  });
}

/** An old GNU extension block: up to 21 pairs, then the "isextended" byte. */
function gnuExtension(pairs: [number, number][], extended: boolean): Uint8Array {
  const b = new Uint8Array(512);
  put(b, 0, pairs.map(([o, n]) => gnuPair(o, n)).join(""));
  b[504] = extended ? 1 : 0;
  return b;
}

/** 512-byte blocks holding `text` (NUL padded). */
function blocksOf(text: string): Uint8Array[] {
  const bytes = enc.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += 512) {
    const b = new Uint8Array(512);
    b.set(bytes.subarray(i, i + 512));
    out.push(b);
  }
  return out;
}

const segs = (pairs: [number, number][]) => pairs.map(([offset, length]) => ({ offset, length }));

describe("TarHeaderReader: GNU sparse files", () => {
  test("old GNU 'S': the map in the header", () => {
    const r = new TarHeaderReader();
    const e = r.header(oldGnu("sp", [[4096, 100], [10000, 50], [20000, 0]], 20000, 150)) as TarEntryHeader;
    expect(e).toMatchObject({ path: "sp", type: "file", size: 150, sparse: { size: 20000, segments: segs([[4096, 100], [10000, 50], [20000, 0]]) } });
    expect(r.sparseMapIn).toBeUndefined();
  });

  test("old GNU 'S': the map goes on in extension blocks", () => {
    const pairs: [number, number][] = Array.from({ length: 30 }, (_, i) => [i * 1000, 10]);
    const r = new TarHeaderReader();
    const e = r.header(oldGnu("sp", pairs.slice(0, 4), 30000, 300, true)) as TarEntryHeader;
    expect(r.sparseMapIn).toBe("header-blocks");
    r.sparseBlock(gnuExtension(pairs.slice(4, 25), true));
    expect(r.sparseMapIn).toBe("header-blocks");
    r.sparseBlock(gnuExtension(pairs.slice(25), false));
    expect(r.sparseMapIn).toBeUndefined();
    expect(e.sparse).toEqual({ size: 30000, segments: segs(pairs) });
  });

  test("old GNU 'S': base-256 offsets beyond the octal fields", () => {
    const big = 2 ** 40;
    const b256 = (n: number) => base256(BigInt(n), 12);
    const h = header({ name: "sp", typeflag: "S", magic: "gnu", fields: { size: octal(10, 12) }, raw: [[386, b256(big)], [398, octal(10, 12)], [483, b256(big + 10)]] });
    expect((new TarHeaderReader().header(h) as TarEntryHeader).sparse).toEqual({ size: big + 10, segments: segs([[big, 10]]) });
  });

  test("pax 0.0: offset and numbytes records in order; 0.1: the map in one record; the name from GNU.sparse.name", () => {
    const zero = readMembers([
      pax([["GNU.sparse.size", "9000"], ["GNU.sparse.numblocks", "2"], ["GNU.sparse.offset", "0"], ["GNU.sparse.numbytes", "10"], ["GNU.sparse.offset", "8990"], ["GNU.sparse.numbytes", "10"]]),
      file("sp", { fields: { size: octal(20, 12) } }),
    ]);
    expect(zero[0]).toMatchObject({ path: "sp", size: 20, sparse: { size: 9000, segments: segs([[0, 10], [8990, 10]]) } });
    const one = readMembers([
      pax([["GNU.sparse.size", "9000"], ["GNU.sparse.numblocks", "2"], ["GNU.sparse.name", "real/name"], ["GNU.sparse.map", "0,10,8990,10"]]),
      file("./GNUSparseFile.1/name", { fields: { size: octal(20, 12) } }),
    ]);
    expect(one[0]).toMatchObject({ path: "real/name", size: 20, sparse: { size: 9000, segments: segs([[0, 10], [8990, 10]]) } });
  });

  test("pax 1.0: the map is read from the data, a number split across blocks", () => {
    const pairs: [number, number][] = Array.from({ length: 48 }, (_, i) => [i * 1_000_000 + 123_456, 7]);
    const text = `${pairs.length}\n${pairs.map(([o, n]) => `${o}\n${n}\n`).join("")}`;
    expect(text.slice(510, 514)).toMatch(/^\d{4}$/);
    const blocks = blocksOf(text);
    const r = new TarHeaderReader();
    const [e] = readMembers(
      [pax([["GNU.sparse.major", "1"], ["GNU.sparse.minor", "0"], ["GNU.sparse.name", "sp"], ["GNU.sparse.realsize", "48000000"]]), file("./GNUSparseFile.9/sp", { fields: { size: octal(1024 + 48 * 7, 12) } })],
      r,
    );
    expect(r.sparseMapIn).toBe("data");
    // Another reader in between: each keeps its own map state.
    expect(readMembers([file("other")])[0]!.path).toBe("other");
    r.sparseBlock(blocks[0]!);
    expect(r.sparseMapIn).toBe("data");
    expect(readMembers([file("other2")])[0]!.path).toBe("other2");
    r.sparseBlock(blocks[1]!);
    expect(r.sparseMapIn).toBeUndefined();
    expect(e).toMatchObject({ path: "sp", size: 1024 + 48 * 7, sparse: { size: 48_000_000, segments: segs(pairs) } });
  });

  const badMaps: { name: string; run: (r: TarHeaderReader) => void }[] = [
    { name: "overlapping segments", run: (r) => void r.header(oldGnu("sp", [[0, 100], [50, 10]], 1000, 110)) },
    { name: "a segment past the file's size", run: (r) => void r.header(oldGnu("sp", [[990, 20]], 1000, 20)) },
    { name: "segments out of order", run: (r) => void r.header(oldGnu("sp", [[500, 10], [0, 10]], 1000, 20)) },
    { name: "segments holding less than the entry's data", run: (r) => void r.header(oldGnu("sp", [[0, 10]], 1000, 512)) },
    { name: "segments holding more than the entry's data", run: (r) => void r.header(oldGnu("sp", [[0, 600]], 1000, 512)) },
    {
      name: "an extension block with a bad number",
      run: (r) => {
        r.header(oldGnu("sp", [[0, 10]], 1000, 20, true));
        const b = gnuExtension([[100, 10]], false);
        b[3] = 0x39; // '9'
        r.sparseBlock(b);
      },
    },
    {
      name: "a pax 0.1 map with fewer pairs than numblocks",
      run: (r) => void readMembers([pax([["GNU.sparse.size", "100"], ["GNU.sparse.numblocks", "2"], ["GNU.sparse.map", "0,10"]]), file("sp", { fields: { size: octal(10, 12) } })], r),
    },
    {
      name: "a pax 0.1 map that is not numbers",
      run: (r) => void readMembers([pax([["GNU.sparse.size", "100"], ["GNU.sparse.numblocks", "1"], ["GNU.sparse.map", "0,1x"]]), file("sp", { fields: { size: octal(10, 12) } })], r),
    },
    { name: "a pax 0.1 map without a size", run: (r) => void readMembers([pax([["GNU.sparse.numblocks", "1"], ["GNU.sparse.map", "0,10"]]), file("sp", { fields: { size: octal(10, 12) } })], r) },
    { name: "a sparse map on a directory", run: (r) => void readMembers([pax([["GNU.sparse.size", "10"], ["GNU.sparse.numblocks", "1"], ["GNU.sparse.map", "0,0"]]), { typeflag: "5", name: "d" }], r) },
    {
      name: "a pax 1.0 map with text in it",
      run: (r) => {
        readMembers([pax([["GNU.sparse.major", "1"], ["GNU.sparse.minor", "0"], ["GNU.sparse.realsize", "100"]]), file("sp", { fields: { size: octal(1024, 12) } })], r);
        r.sparseBlock(blocksOf("1\nzero\n")[0]!);
      },
    },
    {
      name: "a pax 1.0 map of more than 2^20 segments",
      run: (r) => {
        // Empty segments, a map that is the entry's whole data: valid but for their number.
        const pairs = 2 ** 20 + 1;
        const blocks = blocksOf(`${pairs}\n${"0\n0\n".repeat(pairs)}`);
        readMembers([pax([["GNU.sparse.major", "1"], ["GNU.sparse.minor", "0"], ["GNU.sparse.realsize", "100"]]), file("sp", { fields: { size: octal(blocks.length * 512, 12) } })], r);
        for (const b of blocks) r.sparseBlock(b);
      },
    },
    {
      name: "a pax 1.0 map longer than the entry's data",
      run: (r) => {
        readMembers([pax([["GNU.sparse.major", "1"], ["GNU.sparse.minor", "0"], ["GNU.sparse.realsize", "100"]]), file("sp", { fields: { size: octal(512, 12) } })], r);
        r.sparseBlock(blocksOf(`99999999\n${"1\n".repeat(250)}`)[0]!);
        r.sparseBlock(new Uint8Array(512).fill(0x31));
      },
    },
  ];
  for (const c of badMaps) {
    test(`throws on ${c.name}`, () => {
      expect(() => c.run(new TarHeaderReader())).toThrow(/^Cannot read tar entry (sp|d): invalid GNU sparse map$/);
    });
  }
});

describe("TarHeaderReader: pax values read as rl's TypeScript reader did", () => {
  // Deterministic pseudo-random numbers.
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const digits = (n: number) => Array.from({ length: n }, () => String(rand(10))).join("");

  test("mtime: Number() of the text, to the last bit", () => {
    const texts = ["0", "-0", "0.5", "1700000000.123456789", "-1.25", "9007199254740993", "0.1", "0000.0001000", "1234567890123456789", "0.000000000000000001", "18446744073709551615.5", "1" + "0".repeat(25)];
    for (let i = 0; i < 3000; i++) texts.push(`${rand(4) ? "" : "-"}${digits(1 + rand(12))}${rand(5) ? `.${digits(1 + rand(20))}` : ""}`);
    const members = texts.flatMap((t) => [pax([["mtime", t]]), file("f")]);
    const got = readMembers(members).map((e) => e.mtime);
    texts.forEach((t, i) => {
      const want = Number(t);
      const sig = t.replace(/^-?0*/, "").replace(/\./, "").replace(/^0*/, "").replace(/0*$/, "").length;
      // Exact within 19 significant digits (every real timestamp); beyond, within an ulp or so.
      if (sig <= 19 && (t.split(".")[1] ?? "").replace(/0*$/, "").length <= 18) expect([t, got[i]]).toEqual([t, want]);
      else expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(Math.abs(want) * 4e-16);
    });
    expect(Object.is(got[1], -0)).toBe(true);
  });

  test("LIBARCHIVE xattr values: Buffer.from(text, \"base64\")", () => {
    const parts = ["a", "G", "k", "x", "Y", "Q", "9", "+", "/", "-", "_", "=", " ", "\n", "!", "\u00e9", "\u0151", "\u0161", "\u{1f600}", "\u{1f63d}", "\ufeff"];
    const values: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) values.push(enc.encode(Array.from({ length: rand(12) }, () => parts[rand(parts.length)]).join("")));
    values.push(new Uint8Array([0x59, 0xff, 0x51, 0xe0, 0xa0, 0x41, 0x41]));
    const members = values.flatMap((v) => [pax([["LIBARCHIVE.xattr.user.v", v.length ? v : "A"]]), file("f")]);
    const got = readMembers(members);
    values.forEach((v, i) => {
      const want = new Uint8Array(Buffer.from(dec.decode(v.length ? v : enc.encode("A")), "base64"));
      expect([dec.decode(v), got[i]!.xattrs["user.v"]]).toEqual([dec.decode(v), want]);
    });
  });

  test("LIBARCHIVE xattr names: decodeURIComponent", () => {
    const parts = ["a", "%20", "%41", "%C3%A9", "%C3", "%A9", "%zz", "%", "%4", "%F0%9F%98%80", "%E0%80%80", "%ED%A0%80", "%F4%90%80%80", "%C0%80", "\u00e9", "+"];
    for (let i = 0; i < 1500; i++) {
      const name = Array.from({ length: rand(5) }, () => parts[rand(parts.length)]).join("");
      let want: string | undefined;
      try {
        want = decodeURIComponent(name);
      } catch {}
      const run = () => readMembers([pax([[`LIBARCHIVE.xattr.${name}`, "YQ=="]]), file("f")])[0]!;
      if (want === undefined) expect(run).toThrow(`Cannot read pax header: invalid xattr name in LIBARCHIVE.xattr.${name}`);
      else expect(Object.keys(run().xattrs)).toEqual([want]);
    }
  });
});
