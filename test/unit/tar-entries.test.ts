import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createReadStream } from "node:fs";
import { link, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGunzip } from "node:zlib";
import { indexTarFile, type TarEntry, tarEntries } from "../../cli/lib/image/tar-entries";
import { paxRecord } from "../../cli/lib/image/tar-writer";
import { SPARSE_FORMATS, SPARSE_PIECES, SPARSE_SIZE, writeSparseFile } from "../integration/layer-dialects";

const FIXTURES = join(import.meta.dir, "../../../shared/fixtures");
const ALPINE = join(FIXTURES, "rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz");
const GGCR = join(FIXTURES, "archives/ggcr-hello-world-v25.tar");

const enc = new TextEncoder();
const dec = new TextDecoder();
let tmp = "";

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "rl-tar-entries-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Splits bytes into chunks of `size` (views, like a real stream hands out). */
async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

async function concat(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of body) parts.push(p.slice());
  return new Uint8Array(Buffer.concat(parts));
}

interface Read extends Omit<TarEntry, "body"> {
  data: string;
}

/** All entries with their bodies read as text. */
async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Read[]> {
  const out: Read[] = [];
  for await (const e of tarEntries(chunks)) {
    const { body, ...rest } = e;
    out.push({ ...rest, data: dec.decode(await concat(body)) });
  }
  return out;
}

function tar(cwd: string, args: string[]): Uint8Array {
  const r = Bun.spawnSync(["tar", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar ${args.join(" ")}: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

let treeCount = 0;
/** Makes a fresh directory tree and returns its path. */
async function tree(build: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(tmp, `tree${treeCount++}`);
  await mkdir(dir);
  await build(dir);
  return dir;
}

const COMMON = ["--sort=name", "--mtime=@1234567890", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-"];

async function basicTree(dir: string): Promise<void> {
  await mkdir(join(dir, "d/sub"), { recursive: true });
  await writeFile(join(dir, "d/hello.txt"), "hello\n");
  await writeFile(join(dir, "d/sub/big.bin"), "x".repeat(70_000));
  await writeFile(join(dir, "d/empty"), "");
  await writeFile(join(dir, "d/exact512"), "y".repeat(512));
  await symlink("hello.txt", join(dir, "d/link"));
  await link(join(dir, "d/hello.txt"), join(dir, "d/hard"));
}

function byPath(entries: Read[]): Map<string, Read> {
  return new Map(entries.map((e) => [e.path, e]));
}

describe("tarEntries on GNU tar output", () => {
  const basicExpect = (entries: Read[]) => {
    const m = byPath(entries);
    expect([...m.keys()]).toEqual(["d", "d/empty", "d/exact512", "d/hard", "d/hello.txt", "d/link", "d/sub", "d/sub/big.bin"]);
    expect(m.get("d")).toMatchObject({ type: "dir", size: 0, mtime: 1234567890, uid: 0, gid: 0 });
    expect(m.get("d/exact512")).toMatchObject({ type: "file", size: 512, data: "y".repeat(512) });
    expect(m.get("d/empty")).toMatchObject({ type: "file", size: 0, data: "" });
    expect(m.get("d/sub/big.bin")?.data).toBe("x".repeat(70_000));
    expect(m.get("d/link")).toMatchObject({ type: "symlink", linkpath: "hello.txt", size: 0 });
    // The first of the two names GNU tar meets is stored as the file, the other as a link to it.
    expect(m.get("d/hard")).toMatchObject({ type: "file", size: 6, data: "hello\n" });
    expect(m.get("d/hello.txt")).toMatchObject({ type: "hardlink", linkpath: "d/hard", size: 0, data: "" });
  };

  const longDir = `${"long-directory-name-".repeat(4)}end`;
  const longFile = `${"a-very-long-file-name-".repeat(6)}.txt`;
  const longTarget = `${"t".repeat(150)}/target`;
  const longTree = async (dir: string) => {
    await mkdir(join(dir, longDir));
    await writeFile(join(dir, longDir, longFile), "long\n");
    await symlink(longTarget, join(dir, "ln"));
  };
  const longExpect = (entries: Read[]) => {
    const m = byPath(entries);
    expect(m.get(`${longDir}/${longFile}`)).toMatchObject({ type: "file", data: "long\n" });
    expect(m.get(longDir)).toMatchObject({ type: "dir" });
    expect(m.get("ln")).toMatchObject({ type: "symlink", linkpath: longTarget });
    expect(entries).toHaveLength(3);
  };

  const cases: { name: string; build: (dir: string) => Promise<void>; args: string[]; check: (e: Read[]) => void }[] = [
    { name: "gnu: files, dirs, symlink, hardlink", build: basicTree, args: ["--format=gnu", "d"], check: basicExpect },
    { name: "pax: files, dirs, symlink, hardlink", build: basicTree, args: ["--format=pax", "d"], check: basicExpect },
    { name: "ustar: files, dirs, symlink, hardlink", build: basicTree, args: ["--format=ustar", "d"], check: basicExpect },
    { name: "v7: files, dirs, symlink, hardlink", build: basicTree, args: ["--format=v7", "d"], check: basicExpect },
    { name: "gnu: long names and link targets (L/K)", build: longTree, args: ["--format=gnu", "."], check: (e) => longExpect(e.filter((x) => x.path !== ".").map((x) => ({ ...x, path: x.path.replace(/^\.\//, "") }))) },
    { name: "pax: long names and link targets", build: longTree, args: ["--format=pax", "."], check: (e) => longExpect(e.filter((x) => x.path !== ".").map((x) => ({ ...x, path: x.path.replace(/^\.\//, "") }))) },
    {
      name: "ustar: name split into prefix",
      build: async (dir) => {
        await mkdir(join(dir, "p".repeat(60), "q".repeat(60)), { recursive: true });
        await writeFile(join(dir, "p".repeat(60), "q".repeat(60), "leaf"), "z");
      },
      args: ["--format=ustar", "p".repeat(60)],
      check: (e) => {
        const deep = `${"p".repeat(60)}/${"q".repeat(60)}`;
        expect(e.map((x) => x.path)).toEqual(["p".repeat(60), deep, `${deep}/leaf`]);
        expect(e[2]?.data).toBe("z");
      },
    },
    {
      name: "fifo",
      build: async (dir) => {
        const r = Bun.spawnSync(["mkfifo", join(dir, "pipe")]);
        if (r.exitCode !== 0) throw new Error("mkfifo failed");
      },
      args: ["--format=gnu", "pipe"],
      check: (e) => expect(e).toEqual([expect.objectContaining({ path: "pipe", type: "fifo", size: 0, data: "" })]),
    },
    {
      name: "gnu: base-256 uid and gid",
      build: async (dir) => writeFile(join(dir, "f"), "u"),
      args: ["--format=gnu", "--owner=x:3000000000", "--group=y:2500000", "f"],
      check: (e) => expect(e[0]).toMatchObject({ path: "f", uid: 3000000000, gid: 2500000, data: "u" }),
    },
    {
      name: "pax: large uid in a pax record",
      build: async (dir) => writeFile(join(dir, "f"), "u"),
      args: ["--format=pax", "--owner=x:3000000000", "--group=y:2500000", "f"],
      check: (e) => expect(e[0]).toMatchObject({ path: "f", uid: 3000000000, gid: 2500000, data: "u" }),
    },
    {
      name: "mode bits",
      build: async (dir) => {
        await writeFile(join(dir, "f"), "");
        Bun.spawnSync(["chmod", "4751", join(dir, "f")]);
      },
      args: ["--format=gnu", "f"],
      check: (e) => expect(e[0]?.mode).toBe(0o4751),
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const dir = await tree(c.build);
      // Cases that set an owner replace the default one.
      const common = c.args.some((a) => a.startsWith("--owner")) ? COMMON.filter((a) => !/^--(owner|group)=0$/.test(a)) : COMMON;
      const bytes = tar(dir, [...common, ...c.args]);
      // Chunk sizes around the 512-byte block size exercise headers split across chunks.
      for (const size of [1 << 20, 512, 511, 513, 100, 7]) {
        c.check(await readAll(chunked(bytes, size)));
      }
    });
  }

  test("pax xattrs from GNU tar --xattrs", async () => {
    const dir = await tree(async (d) => writeFile(join(d, "f"), "data"));
    expect(setXattr(join(dir, "f"), "user.rl.test", "v\u00e4lue")).toBe(true);
    const bytes = tar(dir, ["--format=pax", "--xattrs", "--xattrs-include=user.*", ...COMMON, "f"]);
    const [e] = await readAll(chunked(bytes, 300));
    expect(e?.path).toBe("f");
    expect(dec.decode(e?.xattrs["user.rl.test"])).toBe("v\u00e4lue");
    expect(e?.data).toBe("data");
  });
});

function setXattr(path: string, name: string, value: string): boolean {
  if (Bun.which("setfattr")) {
    return Bun.spawnSync(["setfattr", "-n", name, "-v", value, path]).exitCode === 0;
  }
  if (Bun.which("python3")) {
    const code = "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())";
    return Bun.spawnSync(["python3", "-c", code, path, name, value]).exitCode === 0;
  }
  return false;
}

// ---- hand-built archives ----

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function headerBlock(name: string, typeflag: string, size: number, extra: { linkname?: string; uid?: number } = {}): Uint8Array {
  const b = new Uint8Array(512);
  b.set(enc.encode(name).subarray(0, 100), 0);
  b.set(enc.encode(octal(0o644, 8)), 100);
  b.set(enc.encode(octal(extra.uid ?? 0, 8)), 108);
  b.set(enc.encode(octal(0, 8)), 116);
  b.set(enc.encode(octal(size, 12)), 124);
  b.set(enc.encode(octal(1000, 12)), 136);
  b[156] = typeflag.charCodeAt(0);
  b.set(enc.encode(extra.linkname ?? ""), 157);
  b.set(enc.encode("ustar\u000000"), 257);
  b.fill(0x20, 148, 156);
  const sum = b.reduce((a, c) => a + c, 0);
  b.set(enc.encode(octal(sum, 7) + " "), 148);
  return b;
}

function padded(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

function member(name: string, typeflag: string, data: Uint8Array | string = "", extra: { linkname?: string } = {}): Uint8Array[] {
  const d = typeof data === "string" ? enc.encode(data) : data;
  return [headerBlock(name, typeflag, d.length, extra), padded(d)];
}

function archive(...parts: Uint8Array[][]): Uint8Array {
  return new Uint8Array(Buffer.concat([...parts.flat(), new Uint8Array(1024)]));
}

describe("tarEntries on hand-built archives", () => {
  test("pax SCHILY.xattr with binary values, path, linkpath, mtime, uid, size", async () => {
    const bin = new Uint8Array([0, 1, 10, 61, 255, 32]);
    const pax = Buffer.concat([
      paxRecord("path", "from/pax/\u00fcber"),
      paxRecord("uid", "4000000000"),
      paxRecord("gid", "12"),
      paxRecord("mtime", "1700000000.25"),
      paxRecord("SCHILY.xattr.user.bin", bin),
      paxRecord("SCHILY.xattr.security.capability", "caps"),
      paxRecord("LIBARCHIVE.xattr.user.a%20b", Buffer.from("hi").toString("base64")),
      paxRecord("uname", "someone"),
      paxRecord("size", "3"),
    ]);
    const bytes = archive(
      member("pax_global_header", "g", paxRecord("comment", "ignored")),
      member("PaxHeaders/x", "x", new Uint8Array(pax)),
      // The header's own size (9) is overridden by the pax size (3).
      [headerBlock("short-name", "0", 9), padded(enc.encode("abc"))],
      member("plain", "0", "p"),
    );
    for (const size of [1 << 16, 1, 512, 97]) {
      const entries = await readAll(chunked(bytes, size));
      expect(entries).toHaveLength(2);
      const [e, plain] = entries;
      expect(e).toMatchObject({ path: "from/pax/\u00fcber", uid: 4000000000, gid: 12, mtime: 1700000000.25, size: 3, data: "abc" });
      expect(Object.keys(e!.xattrs).sort()).toEqual(["security.capability", "user.a b", "user.bin"]);
      expect(e!.xattrs["user.bin"]).toEqual(bin);
      expect(dec.decode(e!.xattrs["user.a b"])).toBe("hi");
      // pax records apply to one entry only.
      expect(plain).toMatchObject({ path: "plain", uid: 0, xattrs: {}, data: "p" });
    }
  });

  test("pax linkpath and hardlink", async () => {
    const bytes = archive(
      member("a", "0", "A"),
      member("PaxHeaders/l", "x", new Uint8Array(Buffer.concat([paxRecord("linkpath", "a"), paxRecord("path", "b")]))),
      member("ignored", "1", "", { linkname: "ignored-too" }),
    );
    const entries = await readAll(chunked(bytes, 1000));
    expect(entries[1]).toMatchObject({ path: "b", type: "hardlink", linkpath: "a", size: 0 });
  });

  test("GNU long name and long link", async () => {
    const name = `${"n".repeat(200)}/file`;
    const target = "t".repeat(300);
    const bytes = archive(
      member("././@LongLink", "L", `${name}\0`),
      member("././@LongLink", "K", `${target}\0`),
      member("trunc", "2", "", { linkname: "trunc" }),
      member("dir/", "5"),
      member("olddir/", "\0"),
    );
    const entries = await readAll(chunked(bytes, 4096));
    expect(entries.map((e) => [e.path, e.type, e.linkpath])).toEqual([
      [name, "symlink", target],
      ["dir", "dir", ""],
      ["olddir", "dir", ""],
    ]);
  });

  test("pax and GNU names over 255 bytes, their bodies split across chunks", async () => {
    const paxPath = `${"p\u00e4th/".repeat(70)}file`;
    const gnuName = `${"g".repeat(300)}/${"h".repeat(300)}`;
    const gnuLink = `${"l".repeat(700)}`;
    const bytes = archive(
      member("PaxHeaders/a", "x", new Uint8Array(Buffer.concat([paxRecord("path", paxPath), paxRecord("SCHILY.xattr.user.k", new Uint8Array([0, 255, 10]))]))),
      member("a", "0", "A"),
      member("././@LongLink", "L", `${gnuName}\0`),
      member("././@LongLink", "K", `${gnuLink}\0`),
      member("b", "2", "", { linkname: "b" }),
    );
    for (const size of [1 << 20, 512, 100, 7, 1]) {
      const entries = await readAll(chunked(bytes, size));
      expect(entries.map((e) => [e.path, e.type, e.linkpath, e.data])).toEqual([
        [paxPath, "file", "", "A"],
        [gnuName, "symlink", gnuLink, ""],
      ]);
      expect(entries[0]!.xattrs["user.k"]).toEqual(new Uint8Array([0, 255, 10]));
    }
  });

  test("a global pax header changes no entry (as in docker and podman); per-file records still apply", async () => {
    const global = Buffer.concat([paxRecord("path", "global"), paxRecord("mtime", "42.5"), paxRecord("uid", "5"), paxRecord("SCHILY.xattr.user.g", "G")]);
    const bytes = archive(
      member("pax_global_header", "g", new Uint8Array(global)),
      member("a", "0", "A"),
      member("PaxHeaders/b", "x", paxRecord("uid", "6")),
      member("b", "0", "B"),
      member("c", "0", "C"),
    );
    const entries = await readAll(chunked(bytes, 300));
    expect(entries.map((e) => [e.path, e.uid, e.mtime, e.data, e.xattrs])).toEqual([
      ["a", 0, 1000, "A", {}],
      ["b", 6, 1000, "B", {}],
      ["c", 0, 1000, "C", {}],
    ]);
  });

  test("a pax size beyond 8 GiB", async () => {
    const size = 9 * 2 ** 30 + 1;
    const bytes = archive(member("PaxHeaders/big", "x", paxRecord("size", String(size))), [headerBlock("big", "0", 0), new Uint8Array(4096)]);
    for await (const e of tarEntries(chunked(bytes, 1000))) {
      expect(e).toMatchObject({ path: "big", type: "file", size });
      break;
    }
  });

  test("two streams read in turn keep their own metadata", async () => {
    const one = archive(member("PaxHeaders/1", "x", paxRecord("path", "one-long")), member("1", "0", "one"), member("x", "0", "x"));
    const two = archive(member("././@LongLink", "L", "two-long\0"), member("2", "0", "two"), member("y", "0", "y"));
    const a = tarEntries(chunked(one, 1));
    const b = tarEntries(chunked(two, 1));
    const seen: string[] = [];
    for (;;) {
      const [ra, rb] = await Promise.all([a.next(), b.next()]);
      if (ra.done && rb.done) break;
      for (const r of [ra, rb]) if (!r.done) seen.push(`${r.value.path}=${dec.decode(await concat(r.value.body))}`);
    }
    expect(seen).toEqual(["one-long=one", "two-long=two", "x=x", "y=y"]);
  });

  test("device and other entry types", async () => {
    const bytes = archive(member("c", "3"), member("b", "4"), member("v", "V"), member("f7", "7", "seven"));
    const entries = await readAll(chunked(bytes, 4096));
    expect(entries.map((e) => [e.path, e.type, e.data])).toEqual([
      ["c", "char", ""],
      ["b", "block", ""],
      ["v", "other", ""],
      ["f7", "file", "seven"],
    ]);
  });

  test("bodies left unread or half read are skipped", async () => {
    const big = "q".repeat(5000);
    const bytes = archive(member("one", "0", big), member("two", "0", big), member("three", "0", "3"));
    const seen: string[] = [];
    let i = 0;
    for await (const e of tarEntries(chunked(bytes, 700))) {
      seen.push(e.path);
      if (i++ === 1) {
        for await (const p of e.body) {
          expect(p.length).toBeGreaterThan(0);
          break;
        }
      }
      if (e.path === "three") expect(dec.decode(await concat(e.body))).toBe("3");
    }
    expect(seen).toEqual(["one", "two", "three"]);
  });

  test("a body read after moving on throws", async () => {
    const bytes = archive(member("one", "0", "x".repeat(2000)), member("two", "0", "y"));
    const it = tarEntries(chunked(bytes, 100));
    const first = (await it.next()).value as TarEntry;
    await it.next();
    await expect(concat(first.body)).rejects.toThrow(/moved on/);
    await it.return(undefined);
  });

  test("reads the input to its end, past the end-of-archive blocks", async () => {
    const bytes = new Uint8Array(Buffer.concat([archive(member("a", "0", "A")), new Uint8Array(8192)]));
    let consumed = 0;
    async function* counted() {
      for await (const c of chunked(bytes, 1000)) {
        consumed += c.length;
        yield c;
      }
    }
    expect((await readAll(counted())).map((e) => e.path)).toEqual(["a"]);
    expect(consumed).toBe(bytes.length);
  });

  test("a clean end without end-of-archive blocks is accepted", async () => {
    const bytes = new Uint8Array(Buffer.concat(member("a", "0", "A")));
    expect((await readAll(chunked(bytes, 100))).map((e) => e.path)).toEqual(["a"]);
  });

  test("breaking out early closes the source", async () => {
    let closed = false;
    const bytes = archive(member("a", "0", "A"), member("b", "0", "B"));
    async function* source() {
      try {
        yield* chunked(bytes, 512);
      } finally {
        closed = true;
      }
    }
    for await (const e of tarEntries(source())) {
      expect(e.path).toBe("a");
      break;
    }
    expect(closed).toBe(true);
  });

  const broken: { name: string; bytes: () => Uint8Array; error: RegExp }[] = [
    {
      name: "corrupted header checksum",
      bytes: () => {
        const b = archive(member("a", "0", "A"), member("b", "0", "B"));
        b[1024 + 3] = 0x41;
        return b;
      },
      error: /invalid tar header checksum/,
    },
    { name: "truncated in a body", bytes: () => archive(member("a", "0", "x".repeat(3000))).subarray(0, 1500), error: /^unexpected end of tar stream$/ },
    { name: "truncated in a header", bytes: () => archive(member("a", "0", "A"), member("b", "0", "B")).subarray(0, 1024 + 100), error: /^unexpected end of tar stream$/ },
    { name: "truncated in padding", bytes: () => archive(member("a", "0", "A")).subarray(0, 600), error: /^unexpected end of tar stream$/ },
    { name: "ends after a pax header", bytes: () => new Uint8Array(Buffer.concat(member("p", "x", paxRecord("path", "q")))), error: /^unexpected end of tar stream$/ },
    { name: "malformed pax record", bytes: () => archive(member("p", "x", "99 path=q\n"), member("a", "0")), error: /^Cannot read pax header: invalid record length$/ },
    {
      name: "an invalid value in a global pax header",
      bytes: () => archive(member("pax_global_header", "g", paxRecord("mtime", "soon")), member("a", "0")),
      error: /^Cannot read pax header: invalid mtime "soon"$/,
    },
    {
      name: "a pax record cut at the end of the body's block",
      bytes: () => archive(member("p", "x", paxRecord("path", "q".repeat(600)).subarray(0, 512)), member("a", "0")),
      error: /^Cannot read pax header: invalid record length$/,
    },
    { name: "ends inside a GNU long name", bytes: () => new Uint8Array(Buffer.concat(member("././@LongLink", "L", "n".repeat(1000)))).subarray(0, 1024), error: /^unexpected end of tar stream$/ },
    { name: "GNU sparse member", bytes: () => archive(member("s", "S", "")), error: /sparse/ },
  ];
  for (const c of broken) {
    test(`throws on ${c.name}`, async () => {
      for (const size of [1 << 20, 256, 1]) {
        await expect(readAll(chunked(c.bytes(), size))).rejects.toThrow(c.error);
      }
    });
  }
});

describe("tarEntries on GNU tar's sparse files", () => {
  /** The file an entry stands for: zeros, its segments filled from its body. */
  async function expand(e: TarEntry): Promise<Uint8Array> {
    const out = new Uint8Array(e.sparse!.size);
    const data = await concat(e.body);
    let at = 0;
    for (const s of e.sparse!.segments) {
      out.set(data.subarray(at, at + s.length), s.offset);
      at += s.length;
    }
    expect(at).toBe(data.length);
    return out;
  }

  for (const [name, args] of Object.entries(SPARSE_FORMATS)) {
    test(`${name}: the map, the data and the name, also split in small chunks`, async () => {
      const dir = await tree(async (d) => {
        writeSparseFile(join(d, "sparse.img"));
        await writeFile(join(d, "after"), "next entry");
      });
      const want = new Uint8Array(await Bun.file(join(dir, "sparse.img")).arrayBuffer());
      const bytes = tar(dir, [...COMMON, ...args, "sparse.img", "after"]);
      for (const size of [1 << 20, 512, 100]) {
        const entries: [TarEntry, Uint8Array][] = [];
        for await (const e of tarEntries(chunked(bytes, size))) entries.push([e, e.sparse ? await expand(e) : await concat(e.body)]);
        expect(entries.map(([e]) => [e.path, e.type])).toEqual([["sparse.img", "file"], ["after", "file"]]);
        const [e, data] = entries[0]!;
        expect(e.sparse!.size).toBe(SPARSE_SIZE);
        // GNU tar finds the pieces of data (in whole file system blocks), and ends the map with the file's end.
        expect(e.sparse!.segments.filter((s) => s.length > 0).length).toBe(SPARSE_PIECES);
        expect(Buffer.compare(data, want)).toBe(0);
        expect(dec.decode(entries[1]![1])).toBe("next entry");
      }
      // An archive holding a sparse file is indexed around it.
      const path = join(tmp, `sparse-${name.replace(/\W/g, "")}.tar`);
      await writeFile(path, bytes);
      const index = await indexTarFile(path);
      expect([...index.keys()]).toEqual(["after"]);
      const m = index.get("after")!;
      expect(dec.decode(await Bun.file(path).slice(m.offset, m.offset + m.size).arrayBuffer())).toBe("next entry");
    });
  }
});

describe("tarEntries on a real rootfs", () => {
  test("alpine minirootfs 3.20.3", async () => {
    const gunzip = createReadStream(ALPINE).pipe(createGunzip({ chunkSize: 1 << 18 }));
    let count = 0;
    let symlinks = 0;
    let release = "";
    const paths: string[] = [];
    for await (const e of tarEntries(gunzip)) {
      count++;
      paths.push(e.path);
      if (e.type === "symlink") symlinks++;
      if (e.path === "./etc/alpine-release") release = dec.decode(await concat(e.body));
    }
    expect(count).toBe(518);
    expect(symlinks).toBe(334);
    expect(release).toBe("3.20.3\n");
    // Same member names as GNU tar lists (minus directories' trailing slash).
    const listed = Bun.spawnSync(["tar", "-tzf", ALPINE]).stdout.toString().trim().split("\n");
    expect(paths).toEqual(listed.map((p) => (p.length > 1 ? p.replace(/\/+$/, "") : p)));
  });
});

describe("indexTarFile", () => {
  test("ggcr hello-world archive", async () => {
    const index = await indexTarFile(GGCR);
    expect([...index.keys()].sort()).toEqual([
      "blobs/sha256/12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43",
      "blobs/sha256/411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe",
      "blobs/sha256/ac09ed77c1b58dc3f93528f17515cb1c5487fa8f304ba2ed54d0f14686f1136e",
      "blobs/sha256/ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44",
      "index.json",
      "manifest.json",
      "oci-layout",
    ]);
    for (const name of ["index.json", "manifest.json", "blobs/sha256/12660636fe55438cc3ae7424da7ac56e845cdb52493ff9cf949c47a7f57f8b43"]) {
      const { offset, size } = index.get(name)!;
      const got = new Uint8Array(await Bun.file(GGCR).slice(offset, offset + size).arrayBuffer());
      const want = new Uint8Array(Bun.spawnSync(["tar", "-xOf", GGCR, name]).stdout);
      expect(got).toEqual(want);
    }
    const blob = index.get("blobs/sha256/411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe")!;
    const bytes = await Bun.file(GGCR).slice(blob.offset, blob.offset + blob.size).arrayBuffer();
    expect(new Bun.CryptoHasher("sha256").update(bytes).digest("hex")).toBe("411caf340c828657e915a83ed561a79d2b8150dabad4dc079d881cbfe6f86afe");
  });

  test("normalizes names and resolves links to members", async () => {
    const dir = await tree(async (d) => {
      await mkdir(join(d, "abc"));
      await mkdir(join(d, "def"));
      await writeFile(join(d, "abc/layer.tar"), "LAYER");
      await symlink("../abc/layer.tar", join(d, "def/layer.tar"));
      await symlink("def/layer.tar", join(d, "chain"));
      await symlink("/abc/layer.tar", join(d, "absolute"));
      await symlink("missing", join(d, "dangling"));
      await writeFile(join(d, "manifest.json"), "[]");
      await link(join(d, "manifest.json"), join(d, "hard.json"));
      await writeFile(join(d, `${"x".repeat(150)}.json`), "{}");
    });
    for (const format of ["gnu", "pax"]) {
      const path = join(tmp, `index-${format}.tar`);
      await writeFile(path, tar(dir, [`--format=${format}`, ...COMMON, "."]));
      const index = await indexTarFile(path);
      const read = async (name: string) => {
        const m = index.get(name);
        if (!m) return undefined;
        return dec.decode(await Bun.file(path).slice(m.offset, m.offset + m.size).arrayBuffer());
      };
      expect(await read("abc/layer.tar")).toBe("LAYER");
      expect(await read("def/layer.tar")).toBe("LAYER");
      expect(await read("chain")).toBe("LAYER");
      expect(await read("absolute")).toBe("LAYER");
      expect(await read("manifest.json")).toBe("[]");
      expect(await read("hard.json")).toBe("[]");
      expect(await read(`${"x".repeat(150)}.json`)).toBe("{}");
      expect(index.has("dangling")).toBe(false);
      expect(index.has("abc")).toBe(false);
    }
  });

  test("throws on a truncated file", async () => {
    const path = join(tmp, "truncated.tar");
    await writeFile(path, archive(member("a", "0", "x".repeat(3000))).subarray(0, 1500));
    await expect(indexTarFile(path)).rejects.toThrow(/^unexpected end of tar stream$/);
  });
});
