/**
 * Layers as real builders write them, loaded with `rl load` from docker-archive and oci-archive (and
 * `rl import`ed) and looked at in the store and from inside a container: kaniko's leading "/" (and
 * "./", ".//a//b") names; GNU long names and links; pax paths, owners, fractional times and xattrs
 * (SCHILY and LIBARCHIVE); v7 headers; base-256 numbers; hard links; entries repeated in a layer;
 * directories after their contents; GNU sparse files in each of their forms. Layer tars are made
 * by GNU tar or by hand here, at test time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chainIds } from "../../cli/lib/image/digest";
import { FIXTURES, makeEnv, rl, skipReason } from "./harness";
import { busyboxLayer, dockerArchive, ociArchive, sha256, tar, type ImageSpec, type LayerSpec } from "./hostile-inputs";
import { repeatedEntries, SPARSE_FORMATS, SPARSE_SIZE, writeSparseFile } from "./layer-dialects";

const skip = skipReason();
const E = skip ? undefined : makeEnv();

/** A tar of the tree `make` builds, by GNU tar with `args` (owners root). */
function gnuTar(name: string, make: (dir: string) => void, args: string[]): Uint8Array {
  const src = join(E!.root, "src", name);
  mkdirSync(src, { recursive: true });
  make(src);
  const r = Bun.spawnSync(["tar", "-C", src, "-cf", "-", "--owner=0", "--group=0", "--mtime=@1600000000", ...args, "."]);
  if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr.toString()}`);
  return new Uint8Array(r.stdout);
}

/** `rl load`s the image from an archive of `format`; returns the name it was loaded as. */
async function load(format: "docker" | "oci", spec: ImageSpec): Promise<string> {
  const file = join(E!.root, `${format}-${Math.random().toString(36).slice(2)}.tar`);
  if (format === "docker") dockerArchive(file, spec);
  else ociArchive(file, spec);
  const r = await rl(["load", "-i", file], { env: E!.env });
  expect(r).toMatchObject({ code: 0, stderr: "" });
  const m = /Loaded image(?:\(s\))?: (\S+)/.exec(r.stdout);
  expect(m).not.toBeNull();
  return m![1]!;
}

/** The tar `bytes` with the numeric field at `field` (width `width`) of the header at `at` in base-256, checksum redone. */
function base256At(bytes: Uint8Array, at: number, field: number, width: number, value: number): Uint8Array {
  const b = bytes.slice();
  let v = BigInt(value);
  for (let i = width - 1; i >= 0; i--, v >>= 8n) b[at + field + i] = Number(v & 0xffn);
  b[at + field] = b[at + field]! | 0x80;
  b.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += b[i]!;
  b.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 "), at + 148);
  return b;
}

/** Where the store keeps the unpacked layers of `layers` (by chain id). */
function layerDirs(layers: LayerSpec[]): string[] {
  return chainIds(layers.map((l) => l.diffId ?? sha256(l.tar!))).map((c) => join(E!.env.RL_ROOT!, "layers", c.slice(7)));
}

function xattr(path: string, name: string): string {
  const r = Bun.spawnSync(["python3", "-c", "import os,sys;sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).decode())", path, name]);
  return r.exitCode === 0 ? r.stdout.toString() : `(no ${name})`;
}

const LONG_DIR = `${"a-long-directory-name-".repeat(5)}end`;
const LONG_FILE = `${"a-long-file-name-".repeat(8)}txt`;
const LONG_TARGET = `${LONG_DIR}/${LONG_FILE}`;

interface Dialect {
  name: string;
  layer: () => Uint8Array;
  /** A shell command run in the container, and what it prints. */
  run: string;
  prints: string;
  /** More checks on the unpacked layer in the store. */
  store?: (dir: string) => void;
}

const DIALECTS: Dialect[] = [
  {
    name: "GNU long names and long link targets ('L', 'K')",
    layer: () =>
      gnuTar("gnu-long", (d) => {
        mkdirSync(join(d, "gnu", LONG_DIR), { recursive: true });
        writeFileSync(join(d, "gnu", LONG_DIR, LONG_FILE), "long\n");
        symlinkSync(LONG_TARGET, join(d, "gnu/symlink"));
        linkSync(join(d, "gnu", LONG_DIR, LONG_FILE), join(d, "gnu", `${LONG_FILE}.hard`));
      }, ["--format=gnu"]),
    run: `cat /gnu/${LONG_TARGET} /gnu/symlink /gnu/${LONG_FILE}.hard; readlink /gnu/symlink; stat -c %h /gnu/${LONG_FILE}.hard`,
    prints: `long\nlong\nlong\n${LONG_TARGET}\n2\n`,
  },
  {
    name: "pax path, linkpath, size, uid/gid, uname/gname, fractional mtime, SCHILY and LIBARCHIVE xattrs",
    layer: () =>
      tar([
        { name: "pax", type: "dir" },
        // The header's own size says 0: the pax size record is the one that counts.
        { name: "short-name", body: "pax data", pax: { path: `pax/${LONG_FILE}`, uid: "1234", gid: "2345", uname: "someone", gname: "somegroup", mtime: "1600000000.25", size: "8" }, declaredSize: 0 },
        { name: "pax/l", type: "symlink", link: "short", pax: { linkpath: LONG_FILE } },
        { name: "pax/h", type: "hardlink", link: "short", pax: { linkpath: `pax/${LONG_FILE}` } },
        { name: "pax/x", body: "x", pax: { "SCHILY.xattr.user.schily": "from star", "LIBARCHIVE.xattr.user.libarchive": Buffer.from("from bsdtar").toString("base64") } },
      ]),
    run: `cd /pax && cat ${LONG_FILE} l h; stat -c '%u %g %Y %h' ${LONG_FILE}`,
    prints: "pax datapax datapax data1234 2345 1600000000 2\n",
    store: (dir) => {
      expect(lstatSync(join(dir, "pax", LONG_FILE)).mtimeMs).toBe(1_600_000_000_250);
      expect([xattr(join(dir, "pax/x"), "user.schily"), xattr(join(dir, "pax/x"), "user.libarchive")]).toEqual(["from star", "from bsdtar"]);
    },
  },
  {
    name: "old v7 headers (no ustar magic)",
    layer: () =>
      gnuTar("v7", (d) => {
        mkdirSync(join(d, "v7/dir"), { recursive: true });
        writeFileSync(join(d, "v7/dir/file"), "seven\n");
        symlinkSync("dir/file", join(d, "v7/link"));
      }, ["--format=v7"]),
    run: "cat /v7/dir/file /v7/link; stat -c '%F' /v7/dir",
    prints: "seven\nseven\ndirectory\n",
  },
  {
    name: "base-256 numbers: an mtime past 2242 from GNU tar, a uid written in base-256",
    layer: () => {
      const t = gnuTar("b256", (d) => {
        mkdirSync(join(d, "b256"));
        writeFileSync(join(d, "b256/far"), "future\n");
      }, ["--format=gnu", "--mtime=@9000000000", "--no-recursion", "./b256", "./b256/far"]);
      return base256At(t, 512, 108, 8, 4242); // the uid of ./b256/far, the second header
    },
    run: "cat /b256/far; stat -c '%u %Y' /b256/far",
    prints: "future\n4242 9000000000\n",
  },
  {
    name: "entries repeated in a layer: the last one wins",
    layer: () => tar(repeatedEntries("rep/")),
    run: "cd /rep && cat f2d/in; echo; cat d2f; echo; cat s2f; echo; cat twice; echo; stat -c '%a %F' f2d s2f twice",
    prints: "in\nnow a file\nwas a symlink\ntwo\n750 directory\n644 regular file\n600 regular file\n",
  },
  {
    name: "directories after their contents keep their own mode, owner and time",
    layer: () =>
      tar([
        { name: "after/sub/f", body: "f", mtime: 1_100_000_000 },
        { name: "after/sub", type: "dir", mode: 0o750, uid: 7, gid: 8, mtime: 1_200_000_000 },
        { name: "after", type: "dir", mode: 0o711, uid: 9, gid: 10, mtime: 1_300_000_000 },
      ]),
    run: "cat /after/sub/f; stat -c '%a %u %g %Y' /after/sub /after",
    prints: "f750 7 8 1200000000\n711 9 10 1300000000\n",
  },
];

describe.skipIf(skip !== undefined)("layers as builders write them", () => {
  afterAll(async () => {
    await E?.cleanup();
  });

  describe("every tar dialect, one layer each", () => {
    let layers: LayerSpec[];
    const images: Record<string, string> = {};
    beforeAll(async () => {
      layers = [busyboxLayer(FIXTURES), ...DIALECTS.map((d) => ({ tar: d.layer() }))];
      images.docker = await load("docker", { layers });
      images.oci = await load("oci", { layers });
    });

    test.each(DIALECTS.map((d, i) => [d.name, i] as const))("%s", async (_name, i) => {
      const d = DIALECTS[i]!;
      for (const format of ["docker", "oci"]) {
        const r = await rl(["run", "--rm", images[format]!, "sh", "-c", d.run], { env: E!.env });
        expect({ format, ...r }).toEqual({ format, code: 0, stdout: d.prints, stderr: "" });
      }
      d.store?.(layerDirs(layers)[i + 1]!);
    });
  });

  describe("GNU sparse files, each form in a layer, unpacked with their holes", () => {
    const formats = Object.entries(SPARSE_FORMATS);
    let layers: LayerSpec[];
    let want = "";
    beforeAll(() => {
      const src = join(E!.root, "sparse.img");
      writeSparseFile(src);
      want = new Bun.CryptoHasher("sha256").update(readFileSync(src)).digest("hex");
      layers = [
        busyboxLayer(FIXTURES),
        ...formats.map(([name, args]) => ({
          tar: gnuTar(`sparse-${name.replace(/\W/g, "")}`, (d) => {
            mkdirSync(join(d, "sparse"));
            writeSparseFile(join(d, "sparse", `${name.replace(/\W/g, "")}.img`));
          }, args),
        })),
      ];
    });

    test.each(["docker", "oci"] as const)("%s-archive: rl load, the files' bytes and holes", async (format) => {
      const image = await load(format, { layers });
      const names = formats.map(([name]) => `/sparse/${name.replace(/\W/g, "")}.img`);
      const r = await rl(["run", "--rm", image, "sh", "-c", `sha256sum ${names.join(" ")}; stat -c %s ${names.join(" ")}`], { env: E!.env });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe([...names.map((n) => `${want}  ${n}`), ...names.map(() => `${SPARSE_SIZE}`), ""].join("\n"));
      layerDirs(layers).slice(1).forEach((dir, i) => {
        const st = lstatSync(join(dir, "sparse", `${formats[i]![0].replace(/\W/g, "")}.img`));
        expect({ format: formats[i]![0], size: st.size, allocatedUnder1MiB: st.blocks * 512 < 1 << 20 }).toEqual({ format: formats[i]![0], size: SPARSE_SIZE, allocatedUnder1MiB: true });
      });
    });

    test.each(formats.map(([name]) => name))("rl import of a root filesystem tarball with a %s sparse file", async (name) => {
      const bytes = gnuTar(`import-${name.replace(/\W/g, "")}`, (d) => writeSparseFile(join(d, "disk.img")), SPARSE_FORMATS[name]!);
      const file = join(E!.root, `import-${name.replace(/\W/g, "")}.tar`);
      writeFileSync(file, bytes);
      const r = await rl(["import", file, `sparse-import:${name.replace(/\W/g, "").toLowerCase()}`], { env: E!.env });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      const st = lstatSync(join(layerDirs([{ tar: bytes }])[0]!, "disk.img"));
      expect([st.size, st.blocks * 512 < 1 << 20]).toEqual([SPARSE_SIZE, true]);
      expect(new Bun.CryptoHasher("sha256").update(readFileSync(join(layerDirs([{ tar: bytes }])[0]!, "disk.img"))).digest("hex")).toBe(want);
    });
  });

  describe("kaniko: every name starts with /, the first entry is / itself", () => {
    let spec: ImageSpec;
    beforeAll(() => {
      // Layer 1 as kaniko writes it: "/", "/kaniko/", "/kaniko/a", ... (GNU tar -P keeps the "/").
      const one = gnuTar("kaniko-1", (d) => {
        mkdirSync(join(d, "kaniko/sub"), { recursive: true });
        writeFileSync(join(d, "kaniko/a"), "from layer 1\n");
        writeFileSync(join(d, "kaniko/gone"), "hidden by layer 2\n");
        writeFileSync(join(d, "kaniko/sub/old"), "hidden by the opaque marker\n");
        linkSync(join(d, "kaniko/a"), join(d, "kaniko/hard"));
      }, ["-P", "--transform", "s,^\\./,/,;s,^\\.$,/,"]);
      // Layer 2: "./" names with doubled slashes, a whiteout and an opaque directory in those forms.
      const two = gnuTar("kaniko-2", (d) => {
        mkdirSync(join(d, "kaniko/sub"), { recursive: true });
        writeFileSync(join(d, "kaniko/.wh.gone"), "");
        writeFileSync(join(d, "kaniko/sub/.wh..wh..opq"), "");
        writeFileSync(join(d, "kaniko/sub/new"), "from layer 2\n");
      }, ["-P", "--transform", "s,^\\./,.//,;s,\\([^/]\\)/,\\1//,g"]);
      spec = { layers: [busyboxLayer(FIXTURES), { tar: one }, { tar: two }] };
    });

    test.each(["docker", "oci"] as const)("%s-archive: rl load, then the files are where the names say", async (format) => {
      const image = await load(format, spec);
      const r = await rl(["run", "--rm", image, "sh", "-c", "cat /kaniko/a /kaniko/hard /kaniko/sub/new; ls -a /kaniko /kaniko/sub; stat -c '%i' /kaniko/a /kaniko/hard | uniq | wc -l"], { env: E!.env });
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout).toBe(["from layer 1", "from layer 1", "from layer 2", "/kaniko:", ".", "..", "a", "hard", "sub", "", "/kaniko/sub:", ".", "..", "new", "1", ""].join("\n"));
    });
  });
});
