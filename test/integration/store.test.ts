import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { release, userInfo } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { makeLargeImage, writeOciArchive } from "../../bench/large-image";
import { chainIds } from "../../cli/lib/image/digest";
import { BUSYBOX, FIXTURES, makeEnv, REPO, rl, skipReason, RL_BIN } from "./harness";
import { ociArchive, ociArchiveOf, sha256, tar } from "./hostile-inputs";

const reason = skipReason();
if (reason) console.log(`skipping image store integration tests: ${reason}`);

const ALPINE_LAYOUT = `${FIXTURES}/oci/alpine-3.20.3`;
const ALPINE_MANIFEST = "sha256:198c5de3ec865533261cfaf079cc21a9edf39833bc2319438d8d710807cb2846";
const ALPINE_ID = "a9e81ecc4c3b07bb1950de30296b22e8d3800035ec8a73309a22533fdf10f12a";
const ALPINE_DIFF = "1bccf10afce5c1ffe31381419930ad565c1436eaeb1ca680494b0663e0028419";
const ALPINE = "docker.io/library/alpine:3.20.3";

/** How many subordinate ranges this user has in FILE, read here without rl. */
const byUser = (file: string) => readFileSync(file, "utf8").split("\n").filter((l) => [userInfo().username, String(process.getuid!())].includes(l.split(":")[0]!)).length;

const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

function sh(argv: string[], env?: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(argv, { env: env ?? (process.env as Record<string, string>), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function ok(argv: string[], env?: Record<string, string>): string {
  const r = sh(argv, env);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Members of a tar file with owners, as GNU tar lists them (`tar tv --numeric-owner`). */
function tarListing(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of ok(["tar", "-tvf", file, "--numeric-owner"]).split("\n")) {
    const m = /^(\S+)\s+(\d+)\/(\d+)\s+\d+\s+\S+\s+\S+\s+(.*?)(?: -> .*| link to .*)?$/.exec(line);
    if (m) out.set(m[4]!.replace(/\/$/, ""), `${m[1]} ${m[2]}/${m[3]}`);
  }
  return out;
}

describe.skipIf(Boolean(reason))("image store commands", () => {
  const t = makeEnv();
  const r = (args: string[], stdin?: string) => rl(args, { env: t.env, stdin });
  // Set in beforeAll: the store is made then, not when a -t filter may skip this block.
  let data = "", work = "", alpineArchive = "";
  // podman as this user with its own store, runtime dir and pause process, so nothing real is touched.
  let podmanRoot = "", podmanRuntime = "", podmanEnv: Record<string, string> = {};
  const podman = (args: string[]) => sh(["podman", "--root", join(podmanRoot, "root"), "--runroot", join(podmanRoot, "run"), "--runtime", "runc", "--storage-driver", "vfs", ...args], podmanEnv);

  beforeAll(() => {
    data = t.env.RL_ROOT!;
    work = join(t.root, "work");
    alpineArchive = join(work, "alpine-oci.tar");
    podmanRoot = join(t.root, "podman");
    podmanRuntime = join(podmanRoot, "xdg");
    podmanEnv = { ...t.env, XDG_RUNTIME_DIR: podmanRuntime };
    mkdirSync(work, { recursive: true });
    mkdirSync(podmanRuntime, { recursive: true, mode: 0o700 });
    ok(["skopeo", "copy", "-q", `oci:${ALPINE_LAYOUT}:3.20.3`, `oci-archive:${alpineArchive}:${ALPINE}`]);
    // Every test may run alone or in any order: the shared store holds alpine before any of them.
    ok([RL_BIN, "load", "-i", alpineArchive], t.env);
  });
  afterAll(async () => {
    const pause = join(podmanRuntime, "libpod/tmp/pause.pid");
    if (podmanRuntime && existsSync(pause)) {
      try {
        process.kill(Number(readFileSync(pause, "utf8")), "SIGKILL");
      } catch {}
    }
    await t.cleanup();
  });

  /** Run `fn` on a store of its own (`data`: its RL_ROOT), removed afterwards. */
  async function inFreshStore(fn: (e: ReturnType<typeof makeEnv>, data: string) => Promise<void>) {
    const e = makeEnv();
    try {
      await fn(e, e.env.RL_ROOT!);
    } finally {
      await e.cleanup();
    }
  }

  describe("load", () => {
    test("an oci-archive: Loaded image line, images table, digests kept", async () => {
      await inFreshStore(async (e) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        const l = await f(["load", "-i", alpineArchive]);
        expect(l).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\n`, stderr: "" });
        const table = (await f(["images"])).stdout.split("\n");
        expect(table[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
        expect(table[1]).toMatch(new RegExp(`^docker.io/library/alpine\\s+3\\.20\\.3\\s+${ALPINE_ID.slice(0, 12)}\\s+\\S.* ago\\s+8\\.09 MB$`));
        const [img] = JSON.parse((await f(["images", "--format", "json"])).stdout);
        expect(img).toMatchObject({ Id: ALPINE_ID, Digest: ALPINE_MANIFEST, RepoTags: [ALPINE], Dangling: false, Size: 8089600 });
        expect((await f(["images", "-q"])).stdout).toBe(`${ALPINE_ID.slice(0, 12)}\n`);
        expect((await f(["image", "ls", "-q"])).stdout).toBe(`${ALPINE_ID.slice(0, 12)}\n`);
      });
    });

    test("the store keeps manifest, config and layer blobs", () => {
      const blobs = readdirSync(join(data, "blobs/sha256"));
      const manifest = JSON.parse(readFileSync(`${ALPINE_LAYOUT}/blobs/sha256/${ALPINE_MANIFEST.slice(7)}`, "utf8"));
      for (const d of [ALPINE_MANIFEST, manifest.config.digest, manifest.layers[0].digest]) expect(blobs).toContain(d.slice(7));
      expect(readdirSync(join(data, "tmp"))).toEqual([]);
    });

    test("every fixture archive loads, gzip-compressed and from stdin too", async () => {
      const expected: Record<string, string> = {
        "containers-image-almostempty.tar": "Loaded image: docker.io/library/emptyimage:latest\n",
        "dive-test-oci-gzip-image.tar": "Loaded image: sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959\n",
        "dive-test-oci-zstd-image.tar": "Loaded image: sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959\n",
        "dive-test-oci-uncompressed-image.tar": "Loaded image: sha256:3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959\n",
        "ggcr-hello-world-v25.tar": "Loaded image: sha256:ee301c921b8aadc002973b2e0c3da17d701dcd994b606769a7e6eaa100b81d44\n",
      };
      await inFreshStore(async (e) => {
        for (const [file, out] of Object.entries(expected)) {
          expect(await rl(["load", "-i", `${FIXTURES}/archives/${file}`], { env: e.env })).toMatchObject({ code: 0, stdout: out });
        }
        const gz = join(e.root, "almostempty.tar.gz");
        await Bun.write(gz, gzipSync(readFileSync(`${FIXTURES}/archives/containers-image-almostempty.tar`)));
        expect(await rl(["load", "-i", gz], { env: e.env })).toMatchObject({ code: 0, stdout: expected["containers-image-almostempty.tar"] });
        const p = Bun.spawn([RL_BIN, "load"], { env: e.env, stdin: Bun.file(gz), stdout: "pipe", stderr: "pipe" });
        expect(await new Response(p.stdout).text()).toBe(expected["containers-image-almostempty.tar"]!);
        expect(await p.exited).toBe(0);
      });
    });

    test("bad input: one clear line, exit 125, nothing left behind", async () => {
      const notTar = join(work, "not.tar");
      await Bun.write(notTar, "hello, this is not a tar archive at all".repeat(40));
      const a = await r(["load", "-i", notTar]);
      expect(a.code).toBe(125);
      expect(a.stderr).toMatch(/^rl: cannot load .*not\.tar: .+\n$/);
      const b = await r(["load", "-i", join(work, "missing.tar")]);
      expect(b).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot load .*missing\.tar: .*no such file\n$/) });
      const c = await r(["load", "-i", work]);
      expect(c).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot load .*: it is a directory: .*rl run oci:DIR\)\n$/) });
      expect(readdirSync(join(data, "tmp"))).toEqual([]);
    });
  });

  describe("tag, inspect, history", () => {
    test("tag adds a name; inspect shows podman's fields", async () => {
      expect((await r(["tag", ALPINE, "myalpine:v1"])).code).toBe(0);
      const names = JSON.parse((await r(["images", "--format", "json"])).stdout).find((i: { Id: string }) => i.Id === ALPINE_ID).RepoTags;
      expect(names.sort()).toEqual([ALPINE, "docker.io/library/myalpine:v1"]);
      const [info] = JSON.parse((await r(["image", "inspect", "myalpine:v1"])).stdout);
      expect(info).toMatchObject({
        Id: ALPINE_ID,
        Digest: ALPINE_MANIFEST,
        RepoDigests: expect.arrayContaining([`docker.io/library/alpine@${ALPINE_MANIFEST}`]),
        Architecture: "amd64",
        Os: "linux",
        Config: { Cmd: ["/bin/sh"] },
        RootFS: { Type: "layers", Layers: [`sha256:${ALPINE_DIFF}`] },
        Size: 8089600,
      });
      expect(info.History.length).toBe(2);
    });

    test("history lists the steps newest first", async () => {
      const out = await r(["image", "history", ALPINE]);
      // `rl history` is docker's spelling of the same.
      expect(await r(["history", ALPINE])).toEqual(out);
      const lines = out.stdout.trim().split("\n");
      expect(lines[0]).toMatch(/^ID\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
      expect(lines[1]).toMatch(new RegExp(`^${ALPINE_ID.slice(0, 12)}\\s.*CMD \\["/bin/sh"\\]\\s+0 B$`));
      expect(lines[2]).toMatch(/^<missing>\s.*ADD alpine-minirootfs.*8\.09 MB$/);
    });

    test("image tag and image rm work as tag and rmi", async () => {
      expect((await r(["image", "tag", ALPINE, "localhost/alias:1"])).code).toBe(0);
      expect(await r(["image", "rm", "localhost/alias:1"])).toMatchObject({ code: 0, stdout: "Untagged: localhost/alias:1\n" });
    });

    test("unknown images and invalid names are clear errors", async () => {
      expect(await r(["image", "inspect", "nosuch:image"])).toMatchObject({ code: 125, stderr: "rl: nosuch:image: image not known (see rl images)\n" });
      expect(await r(["tag", "nosuch", "x:y"])).toMatchObject({ code: 125 });
      expect(await r(["tag", ALPINE, "Bad Name"])).toMatchObject({ code: 125, stderr: expect.stringContaining("invalid image name") });
      expect(await r(["rmi", "nosuch"])).toMatchObject({ code: 1, stderr: "rl: nosuch: image not known\n" });
    });
  });

  describe("--format templates (podman's field names)", () => {
    test("ps, images, history, system df and info run a Go template on each record", async () => {
      await inFreshStore(async (e) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        expect((await f(["load", "-i", alpineArchive])).code).toBe(0);
        expect((await f(["run", "--name", "fmt1", "--network", "none", ALPINE, "sh", "-c", "exit 3"])).code).toBe(3);
        const id = JSON.parse((await f(["ps", "-a", "--format", "json"])).stdout)[0].Id as string;
        expect(await f(["ps", "-a", "--format", "{{.Names}} {{.ID}} {{.Command}} {{.ExitCode}} {{.Exited}}"])).toEqual({ code: 0, stdout: `fmt1 ${id.slice(0, 12)} sh -c exit 3 3 true\n`, stderr: "" });
        expect((await f(["ps", "-a", "--format", "{{.Status}}"])).stdout).toMatch(/^Exited \(3\) (Less than a second|\d+ seconds?) ago\n$/);
        expect((await f(["ps", "-a", "--format", "table {{.ID}}\\t{{.Names}} {{upper .Image}}"])).stdout).toBe(
          `CONTAINER ID  NAMES       IMAGE\n${id.slice(0, 12)}  fmt1        ${ALPINE.toUpperCase()}\n`,
        );
        expect((await f(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.Dangling}}"])).stdout).toBe(`docker.io/library/alpine:3.20.3 ${ALPINE_ID.slice(0, 12)} 8.09 MB false\n`);
        expect((await f(["image", "history", "--format", "{{.ID}}|{{.Size}}", ALPINE])).stdout).toBe(`${ALPINE_ID.slice(0, 12)}|0 B\n<missing>|8.09 MB\n`);
        expect((await f(["system", "df", "--format", "{{.Type}}={{.Total}}"])).stdout).toBe("Images=1\nContainers=1\nLocal Volumes=0\n");
        expect(await f(["info", "-f", "{{.host.kernel}} {{len .idMapping.subuid}}"])).toMatchObject({ code: 0, stdout: `${release()} ${byUser("/etc/subuid")}\n` });
      });
    });

    test("a field the records lack, or a template that does not parse: one line naming it, exit 125", async () => {
      const bad = await r(["images", "--format", "{{.Repo}}"]);
      expect(bad).toMatchObject({ code: 125, stdout: "" });
      expect(bad.stderr).toMatch(/^rl: cannot format the output with "\{\{\.Repo\}\}": at 1:3: can't evaluate field Repo \(in \.Repo\): the fields are ID, Id, Repository, Tag, [^\n]*\n$/);
      expect(await r(["ps", "--format", "{{if .Names}}x"])).toMatchObject({ code: 125, stdout: "", stderr: 'rl: invalid value "{{if .Names}}x" for --format: at 1:15: unexpected end of template: a block has no {{end}} (see rl ps --help)\n' });
    });
  });

  describe("--filter and the listing flags", () => {
    /** rl ARGS must succeed quietly: its output lines. */
    const linesOf = (env: Record<string, string>) => async (args: string[]) => {
      const out = await rl(args, { env });
      expect({ args, code: out.code, stderr: out.stderr }).toEqual({ args, code: 0, stderr: "" });
      return out.stdout.split("\n").filter(Boolean);
    };
    test("ps: docker's filter keys (AND across keys, OR within one), -n/-l, --no-trunc, -s, --sort", async () => {
      await inFreshStore(async (e) => {
        const f = linesOf(e.env);
        expect((await rl(["load", "-i", alpineArchive], { env: e.env })).code).toBe(0);
        expect((await rl(["run", "--name", "c-ok", "--network", "none", ALPINE, "true"], { env: e.env })).code).toBe(0);
        expect((await rl(["run", "--name", "c-bad", "--network", "none", ALPINE, "sh", "-c", "exit 3"], { env: e.env })).code).toBe(3);
        const names = ["--format", "{{.Names}}"];
        expect(await f(["ps", ...names])).toEqual([]); // none running
        expect(await f(["ps", "--filter", "status=exited", ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "--filter", "exited=3", ...names])).toEqual(["c-bad"]);
        expect(await f(["ps", "-a", "--filter", "name=^c-o", ...names])).toEqual(["c-ok"]);
        expect(await f(["ps", "-a", "--filter", "name=c-ok", "--filter", "name=c-bad", ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "-a", "-f", "name=c-", "-f", "exited=0", ...names])).toEqual(["c-ok"]);
        expect(await f(["ps", "-a", "--filter", "ancestor=alpine:3.20.3", ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "-a", "--filter", `ancestor=${ALPINE_ID.slice(0, 12)}`, ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "-a", "--filter", "ancestor=busybox", ...names])).toEqual([]);
        expect(await f(["ps", "-a", "--filter", "since=c-ok", ...names])).toEqual(["c-bad"]);
        expect(await f(["ps", "-a", "--filter", "before=c-bad", ...names])).toEqual(["c-ok"]);
        expect(await f(["ps", "-a", "--filter", "network=none", ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "-n", "1", ...names])).toEqual(["c-bad"]);
        expect(await f(["ps", "-l", ...names])).toEqual(["c-bad"]);
        expect(await f(["ps", "-a", "--sort", "names", ...names])).toEqual(["c-bad", "c-ok"]);
        expect(await f(["ps", "-a", "--sort", "names", "--format", "{{.Names}} {{.ID}}", "--no-trunc"])).toEqual([expect.stringMatching(/^c-bad [0-9a-f]{64}$/), expect.stringMatching(/^c-ok [0-9a-f]{64}$/)]);
        const sized = await f(["ps", "-a", "-s"]);
        expect(sized[0]).toMatch(/\sNAMES\s+SIZE$/);
        expect(sized[1]).toMatch(/\s(c-bad|c-ok)\s+\d+(\.\d+)? (B|kB)$/);
        expect(await rl(["ps", "-a", "--filter", "bogus=1"], { env: e.env })).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: invalid filter "bogus=1": unknown key "bogus" \(keys: id, name, status/) });
        expect(await rl(["ps", "-a", "--filter", "since=nosuch"], { env: e.env })).toMatchObject({ code: 125, stderr: "rl: invalid filter since=nosuch: no such container\n" });
      });
    });

    test("images: a REFERENCE pattern, --filter dangling/reference/label/since, --digests, --no-trunc, -n", async () => {
      await inFreshStore(async (e) => {
        const f = linesOf(e.env);
        expect((await rl(["load", "-i", alpineArchive], { env: e.env })).code).toBe(0);
        expect((await rl(["load", "-i", `${FIXTURES}/archives/dive-test-oci-gzip-image.tar`], { env: e.env })).code).toBe(0);
        expect((await rl(["tag", ALPINE, "localhost/mine:2"], { env: e.env })).code).toBe(0);
        const dive = "3eaccc100f86";
        const names = ["--format", "{{.Repository}}:{{.Tag}}"];
        expect(await f(["images", "--filter", "dangling=true", "-q"])).toEqual([dive]);
        expect(await f(["images", "--filter", "dangling=false", "-q"])).toEqual([ALPINE_ID.slice(0, 12)]);
        expect(await f(["images", "alpine", ...names])).toEqual(["docker.io/library/alpine:3.20.3"]);
        expect(await f(["images", "alpine:3.*", ...names])).toEqual(["docker.io/library/alpine:3.20.3"]);
        expect(await f(["images", "localhost/*", ...names])).toEqual(["localhost/mine:2"]);
        expect(await f(["images", "--filter", "reference=alpine:4.*", "-q"])).toEqual([]);
        expect(await f(["images", "nosuch", "-q"])).toEqual([]);
        expect(await f(["images", "--filter", "label=nosuch", "-q"])).toEqual([]);
        expect(await f(["images", "-n", "alpine"])).toEqual([expect.stringMatching(/^docker\.io\/library\/alpine\s+3\.20\.3\s/)]);
        const withDigest = await f(["images", "--digests", "alpine"]);
        expect(withDigest[0]).toMatch(/^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
        expect(withDigest[1]).toContain(ALPINE_MANIFEST);
        expect(await f(["images", "--no-trunc", "-q", "alpine"])).toEqual([`sha256:${ALPINE_ID}`]);
        expect(await f(["images", "-a", "-q"])).toEqual(expect.arrayContaining([dive, ALPINE_ID.slice(0, 12)]));
        // alpine 3.20.3 was built in 2024, the dive test image in 2025.
        expect(await f(["images", "--filter", "since=alpine:3.20.3", "-q"])).toEqual([dive]);
        expect(await f(["images", "--filter", `before=${dive}`, "-q"])).toEqual([ALPINE_ID.slice(0, 12)]);
        expect(await rl(["images", "--filter", "dangling=maybe"], { env: e.env })).toMatchObject({ code: 125, stderr: "rl: invalid filter dangling=maybe: use true or false\n" });
      });
    });
  });

  describe("shell completion", () => {
    test("the bash script completes verbs, flags, containers and images from the store, and file names", async () => {
      await inFreshStore(async (e) => {
        expect((await rl(["load", "-i", alpineArchive], { env: e.env })).code).toBe(0);
        expect((await rl(["run", "--name", "web-1", "--network", "none", ALPINE, "true"], { env: e.env })).code).toBe(0);
        // `rl` on PATH, as the script calls it; a directory with one file for file-name completion.
        const bin = join(e.root, "bin");
        mkdirSync(bin);
        symlinkSync(RL_BIN, join(bin, "rl"));
        const cwd = join(e.root, "cwd");
        mkdirSync(cwd);
        writeFileSync(join(cwd, "archive.tar"), "");
        const script = ok([RL_BIN, "completion", "bash"], e.env);
        const complete = (line: string) => {
          const test = `${script}\nCOMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}; _rl_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
          const r = Bun.spawnSync(["bash", "-c", test], { cwd, env: { ...e.env, PATH: `${bin}:${e.env.PATH}` }, stdout: "pipe", stderr: "pipe" });
          expect(r.exitCode).toBe(0);
          return r.stdout.toString().split("\n").filter(Boolean);
        };
        expect(complete("rl ")).toEqual(expect.arrayContaining(["run", "ps", "images", "image", "system", "completion"]));
        expect(complete("rl ima")).toEqual(["images", "image"]);
        expect(complete("rl image ")).toEqual(["ls", "inspect", "history", "prune", "rm", "tag"]);
        expect(complete("rl run --netw")).toEqual(["--network"]);
        expect(complete("rl ps -")).toEqual(expect.arrayContaining(["--all", "-a", "--format", "--quiet", "-q", "--help"]));
        expect(complete("rl rm we")).toEqual(["web-1"]);
        expect(complete("rl rmi alp")).toEqual(["alpine:3.20.3"]);
        // bash breaks words at ':': only what follows the colon is replaced.
        expect(complete("rl rmi alpine:3")).toEqual(["3.20.3"]);
        expect(complete("rl run --rm docker.io/library/al")).toEqual(["docker.io/library/alpine:3.20.3"]);
        expect(complete("rl save -o arc")).toEqual(["archive.tar"]);
        expect(complete("rl run --pull ")).toEqual(expect.arrayContaining(["always", "missing", "never"]));
        expect(complete("rl system r")).toEqual(["reset"]);
      });
    });

    test("zsh and fish scripts call the same completer; an unknown shell is one line, exit 125", async () => {
      for (const shell of ["zsh", "fish"]) {
        const out = await r(["completion", shell]);
        expect(out).toMatchObject({ code: 0, stderr: "" });
        expect(out.stdout).toContain("rl __complete");
      }
      expect(await r(["completion", "ksh"])).toMatchObject({ code: 125, stdout: "", stderr: 'rl: cannot print completion for "ksh": choose bash, zsh or fish\n' });
    });
  });

  describe("save and round trips", () => {
    test("save oci-archive keeps the original manifest: skopeo reads the same digest", async () => {
      const out = join(work, "saved-oci.tar");
      expect(await r(["save", "--format", "oci-archive", "-o", out, ALPINE])).toMatchObject({ code: 0, stdout: "", stderr: "" });
      const raw = ok(["skopeo", "inspect", "--raw", `oci-archive:${out}:${ALPINE}`]);
      expect(`sha256:${new Bun.CryptoHasher("sha256").update(raw).digest("hex")}`).toBe(ALPINE_MANIFEST);
      const copy = join(work, "copied-layout");
      ok(["skopeo", "copy", "-q", `oci-archive:${out}:${ALPINE}`, `oci:${copy}:x`]);
      expect(existsSync(`${copy}/blobs/sha256/${ALPINE_MANIFEST.slice(7)}`)).toBe(true);
    });

    test("rl save (oci-archive, docker-archive) → podman load; podman save → rl load keeps ids and digests", async () => {
      const out = join(work, "saved-docker.tar");
      expect((await r(["save", "-o", out, ALPINE])).code).toBe(0);
      expect(JSON.parse(ok(["tar", "-xOf", out, "manifest.json"]))).toEqual([{ Config: `${ALPINE_ID}.json`, RepoTags: [ALPINE], Layers: [`${ALPINE_DIFF}.tar`] }]);
      // rl's oci-archive first: podman keeps the manifest digest it finds there.
      const savedOci = join(work, "saved-oci-for-podman.tar");
      expect(await r(["save", "--format", "oci-archive", "-o", savedOci, ALPINE])).toMatchObject({ code: 0, stderr: "" });
      const ociLoaded = podman(["load", "-i", savedOci]);
      expect(ociLoaded.stdout).toContain(`Loaded image: ${ALPINE}`);
      expect(podman(["image", "inspect", "--format", "{{.Digest}}", ALPINE]).stdout.trim()).toBe(ALPINE_MANIFEST);
      const loaded = podman(["load", "-i", out]);
      expect(loaded.stdout).toContain(`Loaded image: ${ALPINE}`);
      expect(podman(["images", "-q", "--no-trunc"]).stdout.trim()).toBe(`sha256:${ALPINE_ID}`);
      const pOci = join(work, "podman-oci.tar"), pDocker = join(work, "podman-docker.tar");
      expect(podman(["save", "--format", "oci-archive", "-o", pOci, ALPINE]).code).toBe(0);
      expect(podman(["save", "--format", "docker-archive", "-o", pDocker, ALPINE]).code).toBe(0);
      const fresh = makeEnv();
      try {
        const f = (args: string[]) => rl(args, { env: fresh.env });
        expect(await f(["load", "-i", pOci])).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\n` });
        // podman converts the docker-format image it loaded to OCI on save: rl keeps podman's digests.
        const podmanDigest = JSON.parse(ok(["tar", "-xOf", pOci, "index.json"])).manifests[0].digest;
        const podmanConfig = JSON.parse(ok(["tar", "-xOf", pOci, `blobs/sha256/${podmanDigest.slice(7)}`])).config.digest;
        expect(JSON.parse((await f(["images", "--format", "json"])).stdout)[0]).toMatchObject({ Id: podmanConfig.slice(7), Digest: podmanDigest });
        expect(await f(["load", "-i", pDocker])).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\n` });
        const [info] = JSON.parse((await f(["image", "inspect", ALPINE])).stdout);
        expect(info.Id).toBe(ALPINE_ID);
        expect(await f(["run", "--rm", ALPINE, "cat", "/etc/alpine-release"])).toMatchObject({ code: 0, stdout: "3.20.3\n" });
      } finally {
        await fresh.cleanup();
      }
    });

    test("skopeo reads rl's docker-archive; rl loads skopeo's docker-archive with the same image id", async () => {
      const out = join(work, "saved-for-skopeo.tar");
      expect(await r(["save", "--format", "docker-archive", "-o", out, ALPINE])).toMatchObject({ code: 0, stdout: "", stderr: "" });
      // skopeo builds a manifest for a docker-archive: its config digest is the image id.
      expect(JSON.parse(ok(["skopeo", "inspect", "--raw", `docker-archive:${out}`])).config.digest).toBe(`sha256:${ALPINE_ID}`);
      expect(JSON.parse(ok(["skopeo", "inspect", `docker-archive:${out}`]))).toMatchObject({ Architecture: "amd64", Os: "linux", Layers: [`sha256:${ALPINE_DIFF}`] });
      const fromSkopeo = join(work, "skopeo-docker.tar");
      ok(["skopeo", "copy", "-q", `oci:${ALPINE_LAYOUT}:3.20.3`, `docker-archive:${fromSkopeo}:localhost/from-skopeo:1`]);
      const fresh = makeEnv();
      try {
        const f = (args: string[]) => rl(args, { env: fresh.env });
        expect(await f(["load", "-i", fromSkopeo])).toMatchObject({ code: 0, stdout: "Loaded image: localhost/from-skopeo:1\n" });
        expect((await f(["images"])).stdout.split("\n")[1]).toMatch(new RegExp(`^localhost/from-skopeo\\s+1\\s+${ALPINE_ID.slice(0, 12)}\\s`));
        expect(JSON.parse((await f(["images", "--format", "json"])).stdout)).toEqual([expect.objectContaining({ Id: ALPINE_ID, RepoTags: ["localhost/from-skopeo:1"] })]);
        expect(await f(["run", "--rm", "localhost/from-skopeo:1", "cat", "/etc/alpine-release"])).toMatchObject({ code: 0, stdout: "3.20.3\n" });
      } finally {
        await fresh.cleanup();
      }
    });

    test("save of several images writes one multi-image docker-archive that loads back", async () => {
      await r(["run", "--rm", BUSYBOX, "true"]);
      const manifest = JSON.parse(readFileSync(`${FIXTURES}/oci/busybox-1.38.0-musl-amd64/blobs/sha256/a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998`, "utf8"));
      const busyboxId = (manifest.config.digest as string).slice(7);
      expect((await r(["tag", busyboxId, "localhost/bb:1"])).code).toBe(0);
      const out = join(work, "two.tar");
      expect((await r(["save", "-o", out, ALPINE, "localhost/bb:1"])).code).toBe(0);
      const fresh = makeEnv();
      try {
        const l = await rl(["load", "-i", out], { env: fresh.env });
        expect(l).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\nLoaded image: localhost/bb:1\n` });
        expect(await rl(["run", "--rm", "localhost/bb:1", "echo", "ok"], { env: fresh.env })).toMatchObject({ code: 0, stdout: "ok\n" });
      } finally {
        await fresh.cleanup();
      }
    });

    test("save to a terminal-less stdout streams the archive", async () => {
      const out = join(work, "stdout.tar");
      const s = sh(["bash", "-c", `'${RL_BIN}' save --format oci-archive ${ALPINE} > '${out}'`], t.env);
      expect(s).toMatchObject({ code: 0, stderr: "" });
      expect([...tarListing(out).keys()]).toContain(`blobs/sha256/${ALPINE_MANIFEST.slice(7)}`);
    });
  });

  describe("import and export", () => {
    test("import a rootfs tarball with --change, then run it", async () => {
      const i = await r(["import", "--change", 'CMD ["/bin/cat", "/etc/alpine-release"]', "--change", "ENV GREETING=hi", `${FIXTURES}/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz`, "imported:1"]);
      expect(i.code).toBe(0);
      expect(i.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      expect(await r(["run", "--rm", "imported:1"])).toMatchObject({ code: 0, stdout: "3.20.3\n" });
      expect(await r(["run", "--rm", "imported:1", "sh", "-c", "echo $GREETING"])).toMatchObject({ code: 0, stdout: "hi\n" });
      const [info] = JSON.parse((await r(["image", "inspect", "imported:1"])).stdout);
      expect(info.RootFS.Layers).toEqual([`sha256:${ALPINE_DIFF}`]);
      expect(info.Id).toBe(i.stdout.trim());
    });

    test("import of something that is not a tar: one line, exit 125, nothing stored", async () => {
      const before = (await r(["images", "-q"])).stdout;
      const bad = join(work, "bad.txt");
      await Bun.write(bad, "not a tar file, just some text\n");
      expect(await r(["import", bad, "bad:1"])).toMatchObject({ code: 125, stderr: `rl: cannot import ${bad}: unexpected end of tar stream\n` });
      expect((await r(["images", "-q"])).stdout).toBe(before);
      expect(readdirSync(join(data, "tmp"))).toEqual([]);
    });

    test("export writes the container's merged filesystem with the container's owners", async () => {
      const run = await r(["run", "--name", "exp", ALPINE, "sh", "-c", "echo changed > /etc/newfile; rm /etc/motd; mkdir /data; chown 1000:1000 /data"]);
      expect(run.code).toBe(0);
      const out = join(work, "exp.tar");
      expect(await r(["export", "-o", out, "exp"])).toMatchObject({ code: 0, stderr: "" });
      const list = tarListing(out);
      expect(list.get("etc/alpine-release")).toBe("-rw-r--r-- 0/0");
      expect(list.get("etc/shadow")).toBe("-rw-r----- 0/42");
      expect(list.get("data")).toBe("drwxr-xr-x 1000/1000");
      expect(list.has("etc/newfile")).toBe(true);
      expect(list.has("etc/motd")).toBe(false);
      expect(ok(["tar", "-xOf", out, "etc/alpine-release"])).toBe("3.20.3\n");
      // stdout by default, and an export imports back as an image
      const piped = sh(["bash", "-c", `'${RL_BIN}' export exp | '${RL_BIN}' import - fromexport`], t.env);
      expect(piped.code).toBe(0);
      expect(await r(["run", "--rm", "fromexport", "cat", "/etc/newfile"])).toMatchObject({ code: 0, stdout: "changed\n" });
      expect(await r(["export", "nosuch"])).toMatchObject({ code: 125, stderr: "rl: cannot export nosuch: no such container: nosuch\n" });
    });
  });

  describe("rmi, prune, df", () => {
    const names = async (env: Record<string, string>) => (JSON.parse((await rl(["ps", "-a", "--format", "json"], { env })).stdout) as { Names: string[] }[]).map((c) => c.Names[0]);

    test("an image a container uses is refused, -f removes the container too", async () => {
      await inFreshStore(async (e) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        expect((await f(["load", "-i", alpineArchive])).code).toBe(0);
        expect((await f(["tag", ALPINE, "myalpine:v1"])).code).toBe(0);
        expect((await f(["run", "--name", "exp", "--network", "none", ALPINE, "true"])).code).toBe(0);
        expect(await f(["rmi", "myalpine:v1"])).toMatchObject({ code: 0, stdout: "Untagged: docker.io/library/myalpine:v1\n" });
        const refused = await f(["rmi", ALPINE]);
        expect(refused).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot remove image .*: container exp uses it; .*rmi -f\n$/) });
        expect(await names(e.env)).toEqual(["exp"]);
        const forced = await f(["rmi", "-f", ALPINE]);
        expect(forced).toMatchObject({ code: 0, stdout: `Untagged: ${ALPINE}\nDeleted: ${ALPINE_ID}\n` });
        expect(await names(e.env)).toEqual([]);
        expect(await f(["ps", "-a", "-q"])).toMatchObject({ code: 0, stdout: "" });
      });
    });

    test("layers and blobs no image uses are gone; shared ones stay", async () => {
      await inFreshStore(async (e, data) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        expect((await f(["load", "-i", alpineArchive])).code).toBe(0);
        // imported:1 has the same layer as alpine: it must still be there and run.
        expect((await f(["import", `${FIXTURES}/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz`, "imported:1"])).code).toBe(0);
        expect(readdirSync(join(data, "blobs/sha256"))).toEqual(expect.arrayContaining([ALPINE_MANIFEST.slice(7), ALPINE_ID]));
        expect(await f(["rmi", ALPINE])).toMatchObject({ code: 0, stdout: `Untagged: ${ALPINE}\nDeleted: ${ALPINE_ID}\n` });
        expect(await f(["run", "--rm", "--network", "none", "imported:1", "cat", "/etc/alpine-release"])).toMatchObject({ code: 0, stdout: "3.20.3\n" });
        const blobs = readdirSync(join(data, "blobs/sha256"));
        expect(blobs).not.toContain(ALPINE_MANIFEST.slice(7));
        expect(blobs).not.toContain(ALPINE_ID);
        expect(ls(join(data, "layers")).length).toBe(1);
      });
    });

    test("system df counts images and containers: sizes as stored", async () => {
      await inFreshStore(async (e) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        expect((await f(["load", "-i", alpineArchive])).code).toBe(0);
        expect((await f(["load", "-i", `${FIXTURES}/archives/dive-test-oci-gzip-image.tar`])).code).toBe(0);
        expect((await f(["run", "--name", "big", "--network", "none", ALPINE, "sh", "-c", "head -c 100000 /dev/zero > /big"])).code).toBe(0);
        const lines = (await f(["system", "df"])).stdout.trim().split("\n");
        expect(lines[0]).toMatch(/^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
        // alpine (8,089,600 bytes, used by the container) and the dive test image (12,800 bytes, unused).
        expect(lines[1]).toMatch(/^Images\s+2\s+1\s+8\.1 MB\s+12\.8 kB \(0%\)$/);
        expect(lines[2]).toMatch(/^Containers\s+1\s+0\s+\d+(\.\d+)? kB\s+\d+(\.\d+)? kB \(100%\)$/);
        const [images, containers] = JSON.parse((await f(["system", "df", "--format", "json"])).stdout);
        expect(images).toEqual({ Type: "Images", Total: 2, Active: 1, Size: 8089600 + 12800, Reclaimable: 12800 });
        expect(containers).toMatchObject({ Type: "Containers", Total: 1, Active: 0 });
        // The container's own layer: the 100,000-byte file, in whole blocks, plus its directories.
        expect(containers.Size).toBeGreaterThanOrEqual(100000);
        expect(containers.Size).toBeLessThan(100000 + 64 * 1024);
        expect(containers.Reclaimable).toBe(containers.Size);
      });
    });

    test("prune removes dangling images; -a every unused one", async () => {
      await inFreshStore(async (e, data) => {
        const f = (args: string[]) => rl(args, { env: e.env });
        expect((await f(["load", "-i", alpineArchive])).code).toBe(0);
        expect((await f(["load", "-i", `${FIXTURES}/archives/dive-test-oci-gzip-image.tar`])).code).toBe(0);
        const before = JSON.parse((await f(["images", "--format", "json"])).stdout) as { Id: string; Dangling: boolean }[];
        const dangling = before.filter((i) => i.Dangling).map((i) => i.Id);
        expect(dangling).toEqual(["3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959"]);
        const p = await f(["image", "prune"]);
        expect(p).toMatchObject({ code: 0, stdout: `${dangling[0]}\n` });
        const after = JSON.parse((await f(["images", "--format", "json"])).stdout) as { Id: string }[];
        expect(after.map((i) => i.Id)).toEqual([ALPINE_ID]);
        expect((await f(["image", "prune", "-a"])).code).toBe(0);
        expect(await f(["images", "-q"])).toMatchObject({ code: 0, stdout: "" });
        expect(readdirSync(join(data, "layers"))).toEqual([]);
        expect(readdirSync(join(data, "blobs/sha256"))).toEqual([]);
      });
    });
  });

  describe("concurrency and crashes", () => {
    test("two rl load of the same archive at once: both succeed, one image", async () => {
      const e = makeEnv();
      try {
        const [a, b] = await Promise.all([rl(["load", "-i", alpineArchive], { env: e.env }), rl(["load", "-i", alpineArchive], { env: e.env })]);
        expect(a).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\n` });
        expect(b).toMatchObject({ code: 0, stdout: `Loaded image: ${ALPINE}\n` });
        expect((await rl(["images", "-q"], { env: e.env })).stdout).toBe(`${ALPINE_ID.slice(0, 12)}\n`);
        expect(readdirSync(join(e.env.RL_ROOT!, "layers")).length).toBe(1);
        expect(readdirSync(join(e.env.RL_ROOT!, "tmp"))).toEqual([]);
      } finally {
        await e.cleanup();
      }
    });

    test("SIGKILL during rl load: no half image, the next command cleans tmp/", async () => {
      const e = makeEnv();
      try {
        const layout = join(e.root, "big");
        await makeLargeImage(layout, 0.15);
        const archive = join(e.root, "big.tar");
        await writeOciArchive(layout, archive);
        const tmp = join(e.env.RL_ROOT!, "tmp");
        const p = Bun.spawn([RL_BIN, "load", "-i", archive], { env: e.env, stdout: "ignore", stderr: "ignore" });
        // Wait until the unpack has started, then kill rl (its user-namespace worker dies with it).
        while (!(existsSync(tmp) && readdirSync(tmp).some((n) => n.startsWith("unpack-") && !n.endsWith(".json")))) {
          expect(p.exitCode).toBeNull(); // rl ended before it was caught unpacking
          await Bun.sleep(2);
        }
        p.kill("SIGKILL");
        await p.exited;
        expect(readdirSync(tmp).length).toBeGreaterThan(0);
        expect(await rl(["images", "-q"], { env: e.env })).toMatchObject({ code: 0, stdout: "" });
        expect(readdirSync(tmp)).toEqual([]);
        // A layer that had landed before the kill is gone too.
        expect(ls(join(e.env.RL_ROOT!, "layers"))).toEqual([]);
        expect(ls(join(e.env.RL_ROOT!, "blobs/sha256"))).toEqual([]);
        expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0, stdout: "Loaded image: docker.io/library/large:1\n" });
      } finally {
        await e.cleanup();
      }
    });
  });

  describe("the store's write-ahead log", () => {
    const walSize = (data: string) => statSync(join(data, "rl.db-wal")).size;
    const names = (db: string) => {
      const d = new Database(db, { readonly: true });
      try {
        return (d.query("SELECT count(*) AS n FROM image_names").get() as { n: number }).n;
      } finally {
        d.close();
      }
    };

    test("left in the log at each command's end, checkpointed as it grows, read back by the next command", async () => {
      const e = makeEnv();
      try {
        const data = e.env.RL_ROOT!;
        expect((await rl(["load", "-i", alpineArchive], { env: e.env })).code).toBe(0);
        const loaded = walSize(data);
        expect(loaded).toBeGreaterThan(0);
        const sizes: number[] = [];
        for (let i = 0; i < 60; i++) {
          expect(await rl(["tag", ALPINE, `localhost/wal:${i}`], { env: e.env })).toMatchObject({ code: 0, stderr: "" });
          sizes.push(walSize(data));
        }
        // The tags wrote ~120 pages of 4 KiB (with a 24-byte frame header each) onto the load's: the
        // command that found the log past 512 KiB checkpointed and emptied it.
        expect(Math.max(...sizes)).toBeLessThanOrEqual(512 * 1024 + 8 * (4096 + 24));
        expect(sizes).toContain(0);
        expect(names(join(data, "rl.db"))).toBe(61);
        expect((await rl(["images"], { env: e.env })).stdout).toContain("localhost/wal");
        // The database file alone, without its log, holds what the checkpoints moved there: tags too.
        const copy = join(e.root, "copy.db");
        writeFileSync(copy, readFileSync(join(data, "rl.db")));
        expect(names(copy)).toBeGreaterThan(1);
      } finally {
        await e.cleanup();
      }
    });

    test("without a C compiler (RL_TINYCC=1) each command checkpoints its log as it closes", async () => {
      const e = makeEnv();
      try {
        const env = { ...e.env, RL_TINYCC: "1" };
        expect((await rl(["load", "-i", alpineArchive], { env })).code).toBe(0);
        expect(await rl(["tag", ALPINE, "localhost/tcc:1"], { env })).toMatchObject({ code: 0, stderr: "" });
        expect(walSize(e.env.RL_ROOT!)).toBe(0);
        expect(names(join(e.env.RL_ROOT!, "rl.db"))).toBe(2);
      } finally {
        await e.cleanup();
      }
    });
  });

  describe("store writes: killed or failed midway", () => {
    const FILE = (name: string, body = "x") => ({ name, body });
    /** Start `rl ARGS` with a test pause hook set to `file`, and wait until it has paused there. */
    async function paused(env: Record<string, string>, args: string[], hook: string, file: string) {
      const p = Bun.spawn([RL_BIN, ...args], { env: { ...env, [hook]: file }, stdout: "pipe", stderr: "pipe" });
      while (!existsSync(file) && p.exitCode === null) await Bun.sleep(10);
      expect({ paused: existsSync(file), exit: p.exitCode }).toEqual({ paused: true, exit: null });
      return p;
    }
    const done = async (p: Bun.Subprocess<"ignore", "pipe", "pipe">) => ({ code: await p.exited, stdout: await new Response(p.stdout).text(), stderr: await new Response(p.stderr).text() });
    const pending = (root: string) => {
      const db = new Database(join(root, "rl.db"), { readonly: true });
      try {
        return db.query("SELECT * FROM pending_writes").all();
      } finally {
        db.close();
      }
    };

    test("SIGKILL after the layers landed, before the commit: the next command removes them", async () => {
      await inFreshStore(async (e, data) => {
        const archive = ociArchive(join(e.root, "two-layers.tar"), { layers: [{ tar: tar([FILE("one")]) }, { tar: tar([FILE("two")]), compression: "zstd" }] }).slice("oci-archive:".length);
        const p = await paused(e.env, ["load", "-i", archive], "RL_TEST_PAUSE_BEFORE_COMMIT", join(e.root, "paused"));
        // Both layers, their blobs, the manifest and the config are in place, claimed by the paused rl.
        expect(ls(join(data, "layers")).length).toBe(2);
        expect(ls(join(data, "blobs/sha256")).length).toBe(4);
        expect(pending(data).length).toBe(6);
        p.kill("SIGKILL");
        await p.exited;
        expect(await rl(["images", "-q"], { env: e.env })).toMatchObject({ code: 0, stdout: "" });
        expect(ls(join(data, "layers"))).toEqual([]);
        expect(ls(join(data, "blobs/sha256"))).toEqual([]);
        expect(ls(join(data, "tmp"))).toEqual([]);
        expect(pending(data)).toEqual([]);
        const [images] = JSON.parse((await rl(["system", "df", "--format", "json"], { env: e.env })).stdout);
        expect(images).toMatchObject({ Type: "Images", Total: 0, Size: 0, Reclaimable: 0 });
        expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Loaded image: sha256:[0-9a-f]{64}\n$/) });
        expect(ls(join(data, "layers")).length).toBe(2);
      });
    });

    test("a failing load does not remove the layer a concurrent load found in the store and records", async () => {
      await inFreshStore(async (e, data) => {
        const shared = { tar: tar([FILE("shared", "both images")]) };
        const good = ociArchive(join(e.root, "good.tar"), { layers: [shared, { tar: tar([FILE("good")]) }] }).slice("oci-archive:".length);
        const bad = ociArchive(join(e.root, "bad.tar"), { layers: [shared, { tar: tar([FILE("bad")]), diffId: sha256("another tar") }] }).slice("oci-archive:".length);
        const [sharedChain] = chainIds([sha256(shared.tar)]);
        // The bad load unpacks the shared layer, fails on its second one and stops before its undo.
        const undoHook = join(e.root, "bad-undo");
        const b = await paused(e.env, ["load", "-i", bad], "RL_TEST_PAUSE_BEFORE_UNDO", undoHook);
        expect(ls(join(data, "layers"))).toEqual([sharedChain!.slice(7)]);
        // The good load finds the shared layer there, unpacks its own and stops before its commit.
        const commitHook = join(e.root, "good-commit");
        const a = await paused(e.env, ["load", "-i", good], "RL_TEST_PAUSE_BEFORE_COMMIT", commitHook);
        expect(ls(join(data, "layers")).length).toBe(2);
        // The bad load's undo goes on, then waits for the store lock the good load holds until its commit.
        rmSync(undoHook);
        rmSync(commitHook);
        const [ra, rb] = await Promise.all([done(a), done(b)]);
        expect(ra).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Loaded image: sha256:/), stderr: "" });
        expect(rb).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot load .*does not match its diff_id[^\n]*\n$/) });
        const [img] = JSON.parse((await rl(["images", "--format", "json"], { env: e.env })).stdout);
        const [info] = JSON.parse((await rl(["image", "inspect", img.Id], { env: e.env })).stdout);
        expect(info.RootFS.Layers[0]).toBe(sha256(shared.tar));
        expect(readFileSync(join(data, "layers", sharedChain!.slice(7), "shared"), "utf8")).toBe("both images");
        expect(ls(join(data, "layers")).length).toBe(2);
        expect(ls(join(data, "blobs/sha256")).length).toBe(4);
        expect(pending(data)).toEqual([]);
      });
    });

    test("a multi-image archive whose second image is bad stores neither", async () => {
      await inFreshStore(async (e, data) => {
        const archive = join(e.root, "two-images.tar");
        ociArchiveOf(archive, [{ layers: [{ tar: tar([FILE("first")]) }] }, { layers: [{ tar: tar([FILE("second")]), diffId: sha256("another tar") }] }]);
        expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 125, stderr: expect.stringMatching(/does not match its diff_id/) });
        expect((await rl(["images", "-q"], { env: e.env })).stdout).toBe("");
        expect(ls(join(data, "layers"))).toEqual([]);
        expect(ls(join(data, "blobs/sha256"))).toEqual([]);
      });
    });
  });

  describe("system reset", () => {
    test("refuses without -f and a terminal; -f removes the data dir", async () => {
      const e = makeEnv();
      try {
        expect((await rl(["load", "-i", alpineArchive], { env: e.env })).code).toBe(0);
        expect((await rl(["run", "--name", "c", ALPINE, "sh", "-c", "mkdir /x && chown 123 /x"], { env: e.env })).code).toBe(0);
        const no = await rl(["system", "reset"], { env: e.env });
        expect(no).toMatchObject({ code: 125, stderr: expect.stringContaining("-f") });
        expect(await rl(["system", "reset", "-f"], { env: e.env })).toMatchObject({ code: 0, stderr: "" });
        expect(ls(e.env.RL_ROOT!)).toEqual([]);
        expect(ls(e.root).sort()).toEqual(["run"]);
        expect((await rl(["images", "-q"], { env: e.env })).stdout).toBe("");
      } finally {
        await e.cleanup();
      }
    });
  });
});
