/**
 * Malformed and hostile images: each must give one clear line on stderr and exit 125, leave the store
 * exactly as it was, and leave the host file system alone. Inputs are built at test time by
 * hostile-inputs.ts. Each case lists the sources to feed (one per transport that can carry it); each
 * source is fed to every entry of COMMANDS that takes it (`rl load -i` takes the archives).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BUSYBOX, makeEnv, rl, skipReason } from "./harness";
import { dockerArchive, dockerArchiveOf, everyTransport, ociArchive, ociArchiveOf, ociLayout, sha256, tar, type ImageSpec, type TarSpec } from "./hostile-inputs";

const skip = skipReason();
if (skip) console.log(`skipping hostile image integration tests: ${skip}`);
const E = skip ? undefined : makeEnv();
/** Where inputs are built (set in beforeAll, so a run that -t filters away creates nothing). */
let work = "";
/** A directory outside the store that hostile layers aim at; it must never change. */
let victim = "";

/** The commands sources are fed to (those whose `takes` accepts the source; every source when absent). */
const COMMANDS: { name: string; args: (src: string) => string[]; takes?: (src: string) => boolean }[] = [
  { name: "run", args: (src) => ["run", "--rm", src, "true"] },
  { name: "load", args: (src) => ["load", "-i", src.slice(src.indexOf(":") + 1)], takes: (src) => /^(oci|docker)-archive:/.test(src) },
];

interface Case {
  name: string;
  /** Builds the input(s) under `dir`; returns transport sources ("oci:DIR", "oci-archive:FILE", ...). */
  sources: (dir: string) => string[];
  /** What the one stderr line must say. */
  error: RegExp;
  /** Paths (under the victim dir) that an escape would have created. */
  escapes?: string[];
  /** Archives of several images: fed to `rl load` only (`run` takes one image). */
  loadOnly?: boolean;
}

const layerOf = (entries: TarSpec[], more: Partial<ImageSpec["layers"][0]> = {}): ImageSpec => ({ layers: [{ tar: tar(entries), ...more }] });
const anyTransport = (spec: () => ImageSpec) => (dir: string) => everyTransport(dir, spec());
const ociOnly = (spec: () => ImageSpec) => (dir: string) => {
  mkdirSync(dir, { recursive: true });
  return [ociLayout(join(dir, "layout"), spec()), ociArchive(join(dir, "oci.tar"), spec())];
};
const dockerOnly = (spec: () => Parameters<typeof dockerArchive>[1]) => (dir: string) => {
  mkdirSync(dir, { recursive: true });
  return [dockerArchive(join(dir, "docker.tar"), spec())];
};
const FILE = (name: string, body = "x"): TarSpec => ({ name, body });
/** Archives of several images, in both formats that carry them. */
const severalImages = (specs: () => ImageSpec[]) => (dir: string) => {
  mkdirSync(dir, { recursive: true });
  return [ociArchiveOf(join(dir, "oci.tar"), specs()), dockerArchiveOf(join(dir, "docker.tar"), specs())];
};

const CASES: Case[] = [
  // --- compression and digests ---
  { name: "truncated gzip layer", sources: anyTransport(() => layerOf([FILE("a", "y".repeat(100_000))], { mangle: (b) => b.subarray(0, b.length - 30) })), error: /unexpected end of file/ },
  { name: "truncated zstd layer", sources: anyTransport(() => layerOf([FILE("a", "y".repeat(100_000))], { compression: "zstd", mangle: (b) => b.subarray(0, b.length - 10) })), error: /is truncated: its zstd stream ends inside a frame/ },
  { name: "corrupt gzip data", sources: anyTransport(() => layerOf([FILE("a", "y".repeat(100_000))], { mangle: (b) => { const c = b.slice(); c.fill(0xff, 20, 60); return c; } })), error: /invalid|incorrect|corrupt/i },
  {
    name: "layer blob does not match its digest",
    sources: ociOnly(() => ({ layers: [{ tar: tar([FILE("a")]), mangle: (b) => b, digest: sha256("something else") }] })),
    error: /does not match its digest/,
  },
  { name: "layer does not match its diff_id", sources: anyTransport(() => layerOf([FILE("a")], { diffId: sha256("another tar") })), error: /does not match its diff_id/ },
  { name: "diff_id is not a sha256 digest", sources: anyTransport(() => layerOf([FILE("a")], { diffId: "sha256:xyz" })), error: /invalid diff_id "sha256:xyz"/ },
  // --- manifests, configs, indexes ---
  { name: "manifest with a wrong media type", sources: ociOnly(() => ({ ...layerOf([FILE("a")]), manifestMediaType: "application/vnd.oci.artifact.manifest.v1+json" })), error: /has media type "application\/vnd.oci.artifact.manifest.v1\+json", not an image manifest/ },
  { name: "config with a wrong media type", sources: ociOnly(() => ({ ...layerOf([FILE("a")]), configMediaType: "application/octet-stream" })), error: /has media type "application\/octet-stream", not an image config/ },
  { name: "manifest is not JSON", sources: ociOnly(() => ({ ...layerOf([FILE("a")]), manifestText: "{ not json" })), error: /manifest sha256:[0-9a-f]{64} is not valid JSON/ },
  { name: "config is not JSON", sources: anyTransport(() => ({ ...layerOf([FILE("a")]), configText: "[1, 2" })), error: /config .* is not valid JSON/ },
  { name: "layer blob missing", sources: ociOnly(() => layerOf([FILE("a")], { omit: true })), error: /blob sha256:[0-9a-f]{64} is missing/ },
  { name: "config blob missing", sources: ociOnly(() => ({ ...layerOf([FILE("a")]), omitConfig: true })), error: /blob sha256:[0-9a-f]{64} is missing/ },
  { name: "index points at a missing manifest", sources: ociOnly(() => ({ ...layerOf([FILE("a")]), indexManifestDigest: sha256("no such manifest") })), error: /blob sha256:[0-9a-f]{64} is missing/ },
  { name: "layer with a huge declared size", sources: ociOnly(() => layerOf([FILE("a")], { size: 1e15 })), error: /the manifest says 1000000000000000/ },
  { name: "layer with an unsupported media type", sources: ociOnly(() => layerOf([FILE("a")], { mediaType: "application/vnd.oci.image.layer.v1.tar+lz4" })), error: /unsupported media type/ },
  { name: "more diff_ids than layers", sources: anyTransport(() => ({ ...layerOf([FILE("a")]), configText: JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [sha256("1"), sha256("2")] } }) })), error: /2 diff_ids/ },
  { name: "docker-archive config path outside the archive", sources: dockerOnly(() => ({ ...layerOf([FILE("a")]), entry: { Config: "../x.json" } })), error: /path "..\/x.json" points outside the archive/ },
  { name: "docker-archive layer path outside the archive", sources: dockerOnly(() => ({ ...layerOf([FILE("a")]), entry: { Layers: ["/etc/passwd"] } })), error: /path "\/etc\/passwd" points outside the archive/ },
  { name: "docker-archive manifest.json is not JSON", sources: dockerOnly(() => ({ ...layerOf([FILE("a")]), manifestJsonText: "nope" })), error: /manifest.json is not valid JSON/ },
  { name: "docker-archive layer member missing", sources: dockerOnly(() => (layerOf([FILE("a")], { omit: true }))), error: /layer .*layer.tar is missing/ },
  // --- tar framing ---
  { name: "bad tar header checksum", sources: anyTransport(() => layerOf([FILE("a"), { name: "b", body: "x", badChecksum: true }])), error: /invalid tar header checksum/ },
  { name: "huge declared entry size", sources: anyTransport(() => layerOf([{ name: "big", body: "x", declaredSize: 8 ** 11 - 1 }])), error: /unexpected end of tar stream/ },
  { name: "tar stream cut inside an entry", sources: anyTransport(() => ({ layers: [{ tar: tar([FILE("a", "z".repeat(5000))], { end: false }).subarray(0, 2048) }] })), error: /unexpected end of tar stream/ },
  { name: "invalid pax size", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { size: "12abc" } }])), error: /invalid size "12abc"/ },
  { name: "invalid pax mtime", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { mtime: "yesterday" } }])), error: /invalid mtime "yesterday"/ },
  { name: "invalid pax uid", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { uid: "-5" } }])), error: /invalid uid "-5"/ },
  { name: "owner outside the mapped ids", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { uid: "700000" } }])), error: /a is owned by uid 700000, outside the uids this user can map \(0-\d+\): potentially insufficient UIDs/ },
  {
    name: "GNU sparse map past the file's end",
    sources: anyTransport(() => layerOf([{ name: "sp", body: "x".repeat(10), pax: { "GNU.sparse.size": "5", "GNU.sparse.numblocks": "1", "GNU.sparse.map": "0,10" } }])),
    error: /Cannot read tar entry sp: invalid GNU sparse map/,
  },
  { name: "GNU sparse format of an unknown version", sources: anyTransport(() => layerOf([{ name: "sp", body: "x", pax: { "GNU.sparse.major": "9", "GNU.sparse.minor": "0" } }])), error: /unsupported GNU sparse format version/ },
  { name: "name with a NUL byte", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { path: "a\0b" } }])), error: /the name contains a NUL byte/ },
  { name: "name longer than PATH_MAX", sources: anyTransport(() => layerOf([{ name: "a", body: "x", pax: { path: "d/".repeat(2100) + "f" } }])), error: /longer than 4096 bytes/ },
  // --- escapes ---
  { name: "entry with ..", sources: anyTransport(() => layerOf([FILE(`../../../../../../../../../../../..${victim}/dotdot`)])), error: /climbs out of the layer/, escapes: ["dotdot"] },
  { name: "absolute entry name with .. climbing out", sources: anyTransport(() => layerOf([FILE(`/../../../../../../../../..${victim}/absolute`)])), error: /climbs out of the layer/, escapes: ["absolute"] },
  {
    name: "file written through a symlink to outside",
    sources: anyTransport(() => layerOf([{ name: "esc", type: "symlink", link: `${victim}` }, FILE("esc/through-symlink")])),
    error: /refusing file "esc\/through-symlink": it goes through the symlink esc/,
    escapes: ["through-symlink"],
  },
  {
    name: "file written through a relative symlink climbing out",
    sources: anyTransport(() => layerOf([{ name: "up", type: "symlink", link: `../../../../../../../../../../..${victim}` }, FILE("up/relative")])),
    error: /goes through the symlink up/,
    escapes: ["relative"],
  },
  {
    name: "file written through a chain of symlinks",
    sources: anyTransport(() => layerOf([{ name: "hop2", type: "symlink", link: `${victim}` }, { name: "hop1", type: "symlink", link: "hop2" }, FILE("hop1/chained")])),
    error: /goes through the symlink hop1/,
    escapes: ["chained"],
  },
  {
    name: "directory replaced by a symlink, then written through",
    sources: anyTransport(() => layerOf([{ name: "d", type: "dir" }, { name: "d", type: "symlink", link: `${victim}` }, FILE("d/replaced")])),
    error: /refusing file "d\/replaced": it goes through the symlink d/,
    escapes: ["replaced"],
  },
  { name: "hardlink to an absolute path outside", sources: anyTransport(() => layerOf([{ name: "hl", type: "hardlink", link: `${victim}/secret` }])), error: /refusing hardlink "hl" → ".*secret": its target is not a file earlier in this layer/, escapes: [] },
  { name: "hardlink with .. in its target", sources: anyTransport(() => layerOf([{ name: "hl", type: "hardlink", link: `../../../../../../../../..${victim}/secret` }])), error: /its target: its "\.\." climbs out of the layer/ },
  {
    name: "hardlink through a symlink to outside",
    sources: anyTransport(() => layerOf([{ name: "s", type: "symlink", link: `${victim}` }, { name: "hl", type: "hardlink", link: "s/secret" }])),
    error: /refusing hardlink "hl" → "s\/secret": its target is not a file earlier in this layer/,
  },
  { name: "hardlink to a directory", sources: anyTransport(() => layerOf([{ name: "d", type: "dir" }, { name: "hl", type: "hardlink", link: "d" }])), error: /its target is not a file earlier in this layer/ },
  {
    name: "whiteout through a symlink to outside",
    sources: anyTransport(() => layerOf([{ name: "s", type: "symlink", link: `${victim}` }, FILE("s/.wh.secret", "")])),
    error: /refusing file "s\/.wh.secret": it goes through the symlink s/,
  },
  {
    name: "opaque marker through a symlink to outside",
    sources: anyTransport(() => layerOf([{ name: "s", type: "symlink", link: `${victim}` }, FILE("s/.wh..wh..opq", "")])),
    error: /it goes through the symlink s/,
  },
  { name: "whiteout of an entry of the same layer", sources: anyTransport(() => layerOf([FILE("mine"), FILE(".wh.mine", "")])), error: /whiteout of an entry of the same layer/ },
  { name: "whiteout of no name", sources: anyTransport(() => layerOf([{ name: "d", type: "dir" }, FILE("d/.wh.", "")])), error: /whiteout of no valid name/ },
  { name: "the layer root as a file", sources: anyTransport(() => layerOf([FILE("./", "")])), error: /the layer's root can only be a directory/ },
  // --- several layers or images: what the good ones created goes too ---
  {
    name: "a later layer does not match its diff_id (the first one is good)",
    sources: anyTransport(() => ({ layers: [{ tar: tar([FILE("first/ok", "layer one")]) }, { tar: tar([FILE("second")]), diffId: sha256("another tar") }] })),
    error: /does not match its diff_id/,
  },
  {
    name: "the last of three layers is a truncated gzip",
    sources: anyTransport(() => ({
      layers: [{ tar: tar([FILE("one", "1")]) }, { tar: tar([FILE("two", "2")]), compression: "zstd" }, { tar: tar([FILE("three", "z".repeat(100_000))]), mangle: (b) => b.subarray(0, b.length - 30) }],
    })),
    error: /unexpected end of file/,
  },
  {
    name: "a later layer writes through a symlink to outside",
    sources: anyTransport(() => ({ layers: [{ tar: tar([FILE("base", "fine")]) }, { tar: tar([{ name: "esc", type: "symlink", link: `${victim}` }, FILE("esc/later-layer")]) }] })),
    error: /goes through the symlink esc/,
    escapes: ["later-layer"],
  },
  {
    name: "the second image of an archive has a bad layer over the first image's layer",
    loadOnly: true,
    sources: severalImages(() => {
      const shared = { tar: tar([FILE("shared", "both images")]) };
      return [{ layers: [shared] }, { layers: [shared, { tar: tar([FILE("own")]), diffId: sha256("another tar") }] }];
    }),
    error: /does not match its diff_id/,
  },
  {
    name: "the second image of an archive escapes; the first one is fine",
    loadOnly: true,
    sources: severalImages(() => [{ layers: [{ tar: tar([FILE("good-image", "fine")]) }] }, layerOf([FILE(`../../../../../../../../../..${victim}/second-image`)])]),
    error: /climbs out of the layer/,
    escapes: ["second-image"],
  },
];

/** The store as files (layer contents not entered) and rows: what a failed command must not change. */
function storeState(root: string): string {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      if (/\.db-(wal|shm)$/.test(name)) continue;
      const path = join(dir, name);
      const st = lstatSync(path);
      out.push(`${rel}${name}${st.isDirectory() ? "/" : ""}`);
      if (st.isDirectory() && rel !== "layers/") walk(path, `${rel}${name}/`);
    }
  };
  walk(root, "");
  const db = new Database(join(root, "rl.db"), { readonly: true });
  try {
    for (const t of ["images", "image_names", "layers", "layer_sizes", "pending_writes"]) out.push(JSON.stringify(db.query(`SELECT * FROM ${t} ORDER BY 1`).all()));
  } finally {
    db.close();
  }
  return out.join("\n");
}

function victimState(): string {
  return readdirSync(victim).sort().map((n) => `${n}:${readFileSync(join(victim, n), "utf8")}`).join("\n");
}

describe.skipIf(skip !== undefined)("hostile and malformed images", () => {
  beforeAll(async () => {
    work = join(E!.root, "inputs");
    victim = join(E!.root, "victim");
    mkdirSync(work, { recursive: true });
    mkdirSync(victim);
    writeFileSync(join(victim, "secret"), "untouched");
    // A store with one good image in it, so "unchanged" means something.
    const r = await rl(["run", "--rm", BUSYBOX, "true"], { env: E!.env });
    expect(r.code).toBe(0);
  });
  afterAll(async () => {
    await E?.cleanup();
  });

  test("the corpus has at least 30 inputs", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
  });

  test.each(CASES.map((c, i) => [c.name, i] as const))("%s", async (_name, i) => {
    const c = CASES[i]!;
    const dir = join(work, `case-${i}`);
    const sources = c.sources(dir);
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      for (const cmd of COMMANDS.filter((k) => (k.takes?.(src) ?? true) && (!c.loadOnly || k.name === "load"))) {
        const before = storeState(E!.env.RL_ROOT!);
        const r = await rl(cmd.args(src), { env: E!.env });
        const what = `${cmd.name} ${src.split(":")[0]}`;
        expect({ what, code: r.code }).toEqual({ what, code: 125 });
        const lines = r.stderr.trimEnd().split("\n");
        expect({ what, lines }).toEqual({ what, lines: [expect.stringMatching(/^rl: /)] });
        expect({ what, line: lines[0] }).toEqual({ what, line: expect.stringMatching(c.error) });
        expect(storeState(E!.env.RL_ROOT!)).toBe(before);
        expect(victimState()).toBe("secret:untouched");
        for (const e of c.escapes ?? []) expect(existsSync(join(victim, e))).toBe(false);
      }
    }
  });
});
