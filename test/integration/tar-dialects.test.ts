/**
 * Layers as real builders write them, loaded with `rl load` from docker-archive and oci-archive and
 * looked at from inside a container: kaniko's leading "/" (and "./", ".//a//b") names. Each layer
 * tar is made by GNU tar here, from a tree built at test time.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { linkSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, makeEnv, rl, skipReason } from "./harness";
import { busyboxLayer, dockerArchive, ociArchive, type ImageSpec } from "./hostile-inputs";

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

describe.skipIf(skip !== undefined)("layers as builders write them", () => {
  afterAll(async () => {
    await E?.cleanup();
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
