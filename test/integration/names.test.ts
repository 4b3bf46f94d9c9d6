import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, makeEnv, rl, skipReason } from "./harness";
import { dockerArchive, tar } from "./hostile-inputs";

const reason = skipReason();
const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe.skipIf(Boolean(reason))("generated container names", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const run = () => rl(["run", "--network", "none", ALPINE, "true"], { env: t.env });

  test("120 sequential and 20 concurrent runs all get a name of their own", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 120; i++) {
      const r = await run();
      if (r.code !== 0) failures.push(r.stderr);
    }
    for (const r of await Promise.all(Array.from({ length: 20 }, run))) if (r.code !== 0) failures.push(r.stderr);
    expect(failures).toEqual([]);
    const rows = JSON.parse((await rl(["ps", "-a", "--format", "json"], { env: t.env })).stdout) as { Names: string[]; ExitCode: number }[];
    // Each ended as it did (a concurrent sweep must neither take a container nor record it killed).
    expect(rows.map((c) => c.ExitCode).filter((c) => c !== 0)).toEqual([]);
    const names = rows.map((c) => c.Names[0]);
    expect(names.length).toBe(140);
    expect(new Set(names).size).toBe(140);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+$/);
  }, 600_000);
});

describe.skipIf(Boolean(reason))("image names are checked wherever they enter the store", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  /** What a refused command must leave as it was: images, layers, blobs, and an empty tmp/. */
  const storeState = async () => ({
    images: (await r(["images", "-q"])).stdout,
    layers: ls(join(t.env.RL_ROOT!, "layers")),
    blobs: ls(join(t.env.RL_ROOT!, "blobs/sha256")),
  });
  // The tag test stores an image; tests run in any order, so each compares with the store as it found it.
  let before: Awaited<ReturnType<typeof storeState>> = { images: "", layers: [], blobs: [] };
  beforeEach(async () => {
    before = await storeState();
  });
  const empty = async () => {
    expect(await storeState()).toEqual(before);
    expect(ls(join(t.env.RL_ROOT!, "tmp"))).toEqual([]);
  };
  const layer = () => [{ tar: tar([{ name: "a", body: "x" }]) }];

  test("a docker-archive whose RepoTags hold a bad name is refused, naming it (as podman)", async () => {
    for (const bad of [":::", "UPPER/Case:Tag"]) {
      const archive = dockerArchive(join(t.root, "bad.tar"), { layers: layer(), entry: { RepoTags: ["good:1", bad] } }).slice("docker-archive:".length);
      const res = await r(["load", "-i", archive]);
      expect(res.code).toBe(125);
      expect(res.stderr).toMatch(new RegExp(`^rl: [^\\n]*manifest.json has an invalid image name ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}[^\\n]*\\n$`));
      await empty();
    }
  });

  test("import with a bad name: one line, nothing stored", async () => {
    const file = join(t.root, "rootfs.tar");
    await Bun.write(file, tar([{ name: "etc/hostname", body: "x\n" }]));
    const res = await r(["import", file, "Bad Name"]);
    expect(res).toMatchObject({ code: 125, stdout: "" });
    expect(res.stderr).toMatch(/^rl: [^\n]*invalid image name "Bad Name": repository names use lowercase[^\n]*\n$/);
    await empty();
  });

  test("tag: the grammar's limits, 255 characters for the name and 128 for the tag", async () => {
    expect(await r(["load", "-i", dockerArchive(join(t.root, "ok.tar"), { layers: layer() }).slice("docker-archive:".length)])).toMatchObject({ code: 0 });
    const huge = await r(["tag", "hostile:latest", `localhost/${"a".repeat(10_000)}:1`]);
    expect(huge.code).toBe(125);
    expect(huge.stderr).toMatch(/^rl: invalid image name "localhost\/a+"… \(10012 characters\): names are at most 255 characters, tags 128\n$/);
    const longest = `localhost/${"a".repeat(245)}`;
    expect(await r(["tag", "hostile:latest", `${longest}:1`])).toMatchObject({ code: 0, stderr: "" });
    expect((await r(["tag", "hostile:latest", `${longest}a:1`])).stderr).toMatch(/at most 255 characters/);
    expect(await r(["tag", "hostile:latest", `localhost/x:${"t".repeat(128)}`])).toMatchObject({ code: 0 });
    expect(await r(["tag", "hostile:latest", `localhost/x:${"t".repeat(129)}`])).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: invalid image name "localhost\/x:t+"… \(141 characters\): bad tag/) });
    for (const bad of [":::", "UPPER/Case:Tag", "a@sha256:" + "0".repeat(64)]) {
      expect(await r(["tag", "hostile:latest", bad])).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: invalid image name [^\n]+\n$/) });
    }
    const names = JSON.parse((await r(["images", "--format", "json"])).stdout)[0].RepoTags;
    expect(names.sort()).toEqual([`${longest}:1`, "docker.io/library/hostile:latest", `localhost/x:${"t".repeat(128)}`].sort());
  });
});
