import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, rl, skipReason, RL_BIN } from "./harness";
import { makeLayeredImage } from "./layered-image";
import { expectOneLineError, fill, freePort, makeRegistryEnv, selfSigned, skopeo, startFaultProxy, startRegistry, startTokenServer, type FaultProxy, type Registry, type TokenServer } from "./registry-harness";

const reason = skipReason();
if (reason) console.log(`skipping registry integration tests: ${reason}`);

const OCI = `${FIXTURES}/oci`;
const ALPINE_INDEX = "sha256:cb7c6b864537746c1ebb02e05805708beb532c4e8cf0c5b94c3a96738cd384f5";
const ALPINE_AMD64 = "sha256:198c5de3ec865533261cfaf079cc21a9edf39833bc2319438d8d710807cb2846";
/** The alpine amd64 image's one layer, as progress lines name it. */
const ALPINE_LAYER = "d4e6fd67dcf7";
const HELLO_INDEX = JSON.parse(readFileSync(`${OCI}/hello-world-multiarch/index.json`, "utf8")).manifests.find((d: { annotations?: Record<string, string> }) => d.annotations?.["org.opencontainers.image.ref.name"] === "linux").digest as string;

function blobJson(layout: string, digest: string) {
  return JSON.parse(readFileSync(`${OCI}/${layout}/blobs/sha256/${digest.slice(7)}`, "utf8"));
}

/** The config digest (image id) of the manifest an index lists for os/arch[/variant]. */
function idFor(layout: string, index: string, arch: string, variant?: string): string {
  const m = blobJson(layout, index).manifests.find((d: { platform: { architecture: string; variant?: string } }) => d.platform.architecture === arch && (!variant || d.platform.variant === variant));
  return blobJson(layout, m.digest).config.digest;
}

/** rl run under `script`, on a pseudo-terminal `columns` wide and `rows` high: what the terminal received, and the exit code. */
async function onTerminal(env: Record<string, string>, args: string[], columns = 100, rows = 40): Promise<{ out: string; code: number }> {
  const cmd = `stty cols ${columns} rows ${rows}; exec ${[RL_BIN, ...args].join(" ")}`;
  const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  return { out, code };
}

/** The lines a terminal shows (escape sequences removed) that draw a blob's progress. */
function blobLines(out: string): string[] {
  return out
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
    .split(/\r?\n/)
    .filter((l) => l.startsWith("Copying blob "));
}

describe.skipIf(Boolean(reason))("rl pull/run/push against a plain-HTTP registry", () => {
  const { t, run, store } = makeRegistryEnv();
  let reg: Registry;
  let H = "";

  beforeAll(async () => {
    reg = await startRegistry();
    H = reg.host;
    await fill(`oci:${OCI}/alpine-3.20.3:3.20.3`, `${H}/alpine:3.20`, ["--all"]);
    await fill(`oci:${OCI}/hello-world-multiarch:linux`, `${H}/hello:latest`, ["--all"]);
    await fill(`oci:${OCI}/hello-world-multiarch:linux`, `${H}/searched:latest`, ["--all"]);
    await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `${H}/busybox:zstd`, ["--dest-compress-format", "zstd"]);
    await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `${H}/library/busybox:v2s2`, ["--format", "v2s2"]);
    await fill(`oci:${OCI}/hello-world-multiarch:linux`, `${H}/plat:1`, ["--all"]);
  });
  afterAll(async () => {
    await reg?.stop();
    await t.cleanup();
  });

  test("pull with --tls-verify=false stores the image under its full name and prints its id", async () => {
    const r = await run(["pull", "--tls-verify=false", `${H}/alpine:3.20`]);
    expect(r).toMatchObject({ code: 0 });
    const id = blobJson("alpine-3.20.3", ALPINE_AMD64).config.digest as string;
    expect(r.stdout).toBe(`${id.slice(7)}\n`);
    expect(r.stderr).toContain(`Stored ${H}/alpine:3.20`);
    expect(store().names).toContain(`${H}/alpine:3.20`);
    const db = new Database(join(t.env.RL_ROOT!, "rl.db"), { readonly: true });
    const digests = db.query("SELECT repo_digest FROM image_repo_digests WHERE image_id = ?").all(id) as { repo_digest: string }[];
    db.close();
    expect(digests.map((d) => d.repo_digest)).toContain(`${H}/alpine@${ALPINE_INDEX}`);
  });

  test("run uses the pulled image without contacting the registry (--pull=never)", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${H}/alpine:3.20`])).toMatchObject({ code: 0 });
    const r = await run(["run", "--rm", "--pull", "never", `${H}/alpine:3.20`, "cat", "/etc/alpine-release"]);
    expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n" });
  });

  test("run pulls a missing image, quietly with -q: a zstd layer", async () => {
    const manifest = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/busybox:zstd`]));
    expect(manifest.layers[0].mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    const r = await run(["run", "--rm", "-q", "--tls-verify=false", `${H}/busybox:zstd`, "busybox", "echo", "zstd-ok"]);
    expect(r).toMatchObject({ code: 0, stdout: "zstd-ok\n", stderr: "" });
  });

  test("a Docker schema2 manifest pulls and runs", async () => {
    const manifest = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/library/busybox:v2s2`]));
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const r = await run(["run", "--rm", "--tls-verify=false", `${H}/library/busybox:v2s2`, "busybox", "echo", "v2s2-ok"]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toBe("v2s2-ok\n");
  });

  test("on a terminal, one progress line per layer is redrawn in place; without one, plain lines", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${H}/alpine:3.20`])).toMatchObject({ code: 0 });
    const stored = await onTerminal(t.env, ["pull", "--tls-verify=false", `${H}/alpine:3.20`]);
    expect(stored.code).toBe(0);
    expect(stored.out).toContain("\x1b[1A\x1b[J"); // cursor up, clear: the block is redrawn
    expect(stored.out).toMatch(new RegExp(`Copying blob ${ALPINE_LAYER} skipped: already exists\x1b\\[K`));
    const plain = await run(["pull", "--tls-verify=false", `${H}/alpine:3.20`]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).not.toContain("\x1b[");
    expect(plain.stderr).toContain(`Blob exists ${ALPINE_LAYER} (3.3MiB)`);
  });

  test("on a terminal, a blob that moves is drawn as a bar with bytes and speed, then done; push draws its bar as bytes go out", async () => {
    const fresh = makeRegistryEnv();
    const other = await startRegistry();
    try {
      const pulled = await onTerminal(fresh.t.env, ["pull", "--tls-verify=false", `${H}/alpine:3.20`], 72);
      expect(pulled.code).toBe(0);
      const lines = blobLines(pulled.out);
      // Drawn with its first bytes, before the end: a partial bar.
      expect(lines.some((l) => new RegExp(`^Copying blob ${ALPINE_LAYER} \\[=*>-+\\] [\\d.]+(B|KiB|MiB) / 3\\.3MiB( \\| [\\d.]+ (B|KiB|MiB)/s)?$`).test(l)), lines.join("\n")).toBe(true);
      expect(lines).toContain(`Copying blob ${ALPINE_LAYER} done 3.3MiB`);
      for (const l of lines) expect(l.length).toBeLessThan(72);
      // A push to another registry uploads the layer: its bar moves with the bytes sent, not all at once at the end.
      const pushed = await onTerminal(fresh.t.env, ["push", "--tls-verify=false", `${H}/alpine:3.20`, `${other.host}/alpine:1`], 72);
      expect(pushed.code).toBe(0);
      const up = blobLines(pushed.out);
      expect(up.some((l) => new RegExp(`^Copying blob ${ALPINE_LAYER} \\[=+>-+\\] 1\\.0MiB / 3\\.3MiB`).test(l)), up.join("\n")).toBe(true);
      expect(up).toContain(`Copying blob ${ALPINE_LAYER} done 3.3MiB`);
    } finally {
      await other.stop();
      await fresh.t.cleanup();
    }
  });

  test("--pull always pulls again: the registry is asked, the blobs already stored are skipped", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${H}/alpine:3.20`])).toMatchObject({ code: 0 });
    const r = await run(["run", "--rm", "--pull", "always", "--tls-verify=false", `${H}/alpine:3.20`, "cat", "/etc/alpine-release"]);
    expect(r).toMatchObject({ code: 0, stdout: "3.20.3\n" });
    expect(r.stderr).toContain(`Pulling ${H}/alpine:3.20 (linux/amd64) from ${H}`);
    expect(r.stderr).toContain(`Blob exists ${ALPINE_LAYER} (3.3MiB)`);
    expect(r.stderr).not.toContain("Copied blob");
  });

  test("--pull missing with a platform asked pulls when the stored image is another platform's; with none asked, the stored one serves", async () => {
    const arm64 = idFor("hello-world-multiarch", HELLO_INDEX, "arm64").slice(7);
    const amd64 = idFor("hello-world-multiarch", HELLO_INDEX, "amd64").slice(7);
    const idOf = async (name: string) => JSON.parse((await run(["image", "inspect", name])).stdout)[0].Id.replace(/^sha256:/, "");
    expect((await run(["pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", `${H}/plat:1`])).stdout.trim()).toBe(arm64);
    // No platform asked: the stored (arm64) image is used as it is, nothing is pulled.
    const asIs = await run(["run", "--rm", `${H}/plat:1`]);
    expect(asIs.stderr).not.toContain("Pulling");
    expect(await idOf(`${H}/plat:1`)).toBe(arm64);
    const amd = await run(["run", "--rm", "--tls-verify=false", "--platform", "linux/amd64", `${H}/plat:1`]);
    expect(amd).toMatchObject({ code: 0 });
    expect(amd.stdout).toContain("Hello from Docker!");
    expect(amd.stderr).toContain(`Pulling ${H}/plat:1 (linux/amd64)`);
    expect(await idOf(`${H}/plat:1`)).toBe(amd64);
    const again = await run(["run", "--rm", "--arch", "amd64", `${H}/plat:1`]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stderr).not.toContain("Pulling");
    expectOneLineError(await run(["run", "--rm", "--pull", "never", "--arch", "arm64", `${H}/plat:1`]), /not in the local store for linux\/arm64 \(--pull=never\)/);
    // rl pull of a name stored for another platform pulls the host's platform.
    expect((await run(["pull", "-q", "--tls-verify=false", "--arch", "arm64", `${H}/plat:1`])).stdout.trim()).toBe(arm64);
    expect((await run(["pull", "-q", "--tls-verify=false", `${H}/plat:1`])).stdout.trim()).toBe(amd64);
  });

  test("--pull=never fails for an image that is not stored", async () => {
    const own = makeRegistryEnv(); // other tests store hello in the shared store
    try {
      expectOneLineError(await own.run(["run", "--rm", "--pull", "never", `${H}/hello`]), /not in the local store \(--pull=never\)/);
      expect(own.store()).toMatchObject({ images: 0, names: [] });
    } finally {
      await own.t.cleanup();
    }
  });

  test("multi-arch: the host's platform, --arch/--variant and --platform choose from the index", async () => {
    const hello = await run(["run", "--rm", "-q", "--tls-verify=false", `${H}/hello`]);
    expect(hello).toMatchObject({ code: 0 });
    expect(hello.stdout).toContain("Hello from Docker!");
    const arm = await run(["pull", "-q", "--tls-verify=false", "--arch", "arm", "--variant", "v7", `${H}/hello`]);
    expect(arm).toMatchObject({ code: 0 });
    expect(arm.stdout.trim()).toBe(idFor("hello-world-multiarch", HELLO_INDEX, "arm", "v7").slice(7));
    const s390 = await run(["pull", "-q", "--tls-verify=false", "--platform", "linux/s390x", `${H}/hello`]);
    expect(s390.stdout.trim()).toBe(idFor("hello-world-multiarch", HELLO_INDEX, "s390x").slice(7));
    expectOneLineError(await run(["pull", "--tls-verify=false", "--platform", "linux/sparc", `${H}/hello`]), /no image for platform linux\/sparc .*it has: .*linux\/amd64/);
    expectOneLineError(await run(["pull", "--tls-verify=false", "--os", "windows", `${H}/hello`]), /no image for platform windows\/amd64 /);
    const os = await run(["pull", "-q", "--tls-verify=false", "--os", "linux", "--arch", "s390x", `${H}/hello`]);
    expect(os.stdout.trim()).toBe(idFor("hello-world-multiarch", HELLO_INDEX, "s390x").slice(7));
  });

  test("digest pinning: name@digest and name:tag@digest pull that manifest; a digest the registry lacks fails", async () => {
    const pinned = await run(["pull", "-q", "--tls-verify=false", "--arch", "arm64", `${H}/alpine@${ALPINE_INDEX}`]);
    expect(pinned).toMatchObject({ code: 0 });
    expect(pinned.stdout.trim()).toBe(idFor("alpine-3.20.3", ALPINE_INDEX, "arm64").slice(7));
    expect(store().names).toContain(`${H}/alpine@${ALPINE_INDEX}`);
    const tagged = await run(["pull", "-q", "--tls-verify=false", `${H}/alpine:ignored@${ALPINE_AMD64}`]);
    expect(tagged).toMatchObject({ code: 0 });
    const before = store();
    const missing = `sha256:${"0".repeat(64)}`;
    expectOneLineError(await run(["pull", "--tls-verify=false", `${H}/alpine@${missing}`]), /manifest unknown.*HTTP 404/);
    expect(store()).toEqual(before);
  });

  test("registries.conf: an insecure registry searched for short names, recorded under its full name", async () => {
    writeFileSync(t.env.RL_REGISTRIES_CONF!, `unqualified-search-registries = ["${H}"]\n[[registry]]\nlocation = "${H}"\ninsecure = true\n`);
    try {
      const r = await run(["run", "--rm", "-q", "searched"]);
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toContain("Hello from Docker!");
      expect(store().names).toContain(`${H}/searched:latest`);
      // The short name now finds the stored image without the registry.
      const again = await run(["run", "--rm", "--pull", "never", "searched"]);
      expect(again.stdout).toContain("Hello from Docker!");
    } finally {
      writeFileSync(t.env.RL_REGISTRIES_CONF!, "");
    }
  });

  test("a short name no unqualified-search registry has: one line names each registry's own failure, exit 125, store unchanged", async () => {
    // Two registries on 127.0.0.1: one not listening, and H without the image; H's mirror fails too, in words of its own.
    const closed = `127.0.0.1:${await freePort()}`;
    const mirror = startFaultProxy(H);
    mirror.fault = (_req, url) => (url.pathname.includes("/manifests/") ? new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "not on the mirror" }] }), { status: 404 }) : "pass");
    writeFileSync(t.env.RL_REGISTRIES_CONF!, `unqualified-search-registries = ["${closed}", "${H}"]\n[[registry]]\nlocation = "${closed}"\ninsecure = true\n[[registry]]\nlocation = "${H}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n`);
    try {
      const before = store();
      const r = await run(["pull", "nosuchimage"]);
      // H's own error, not its mirror's.
      expectOneLineError(r, new RegExp(`^rl: cannot pull nosuchimage: no registry had it: ${closed}/nosuchimage:latest: connection refused; ${H}/nosuchimage:latest: manifest unknown \\(HTTP 404\\)$`));
      // Each failure on the way was shown as it happened.
      expect(r.stderr).toContain(`Failed on ${closed}/nosuchimage: ${closed}: connection refused; trying ${mirror.host}/nosuchimage\n`);
      expect(r.stderr).toContain(`Failed on ${mirror.host}/nosuchimage: ${mirror.host}: not on the mirror (HTTP 404); trying ${H}/nosuchimage\n`);
      expect(store()).toEqual(before);
      // rl run pulls the same way.
      expectOneLineError(await run(["run", "--rm", "nosuchimage:1"]), new RegExp(`^rl: cannot use image nosuchimage:1: no registry had it: ${closed}/nosuchimage:1: connection refused; ${H}/nosuchimage:1: manifest unknown \\(HTTP 404\\)$`));
      expect(store()).toEqual(before);
    } finally {
      mirror.stop();
      writeFileSync(t.env.RL_REGISTRIES_CONF!, "");
    }
  });

  test("registries.conf: insecure allows plain HTTP, but an explicit --tls-verify=true requires TLS", async () => {
    writeFileSync(t.env.RL_REGISTRIES_CONF!, `[[registry]]\nlocation = "${H}"\ninsecure = true\n`);
    try {
      expect(await run(["pull", "-q", `${H}/alpine:3.20`])).toMatchObject({ code: 0 });
      expectOneLineError(await run(["pull", "--tls-verify=true", `${H}/alpine:3.20`]), new RegExp(`${H}: TLS failed`));
      expectOneLineError(await run(["push", "--tls-verify", `${H}/alpine:3.20`, `${H}/tls/alpine:1`]), /TLS failed/);
    } finally {
      writeFileSync(t.env.RL_REGISTRIES_CONF!, "");
    }
  });

  test("registries.conf is $XDG_CONFIG_HOME/containers/registries.conf when it exists, else the system's", async () => {
    // RL_SYSTEM_REGISTRIES_CONF stands in for /etc/containers/registries.conf; XDG_CONFIG_HOME is the test's own.
    const env: Record<string, string> = { ...t.env, RL_SYSTEM_REGISTRIES_CONF: join(t.root, "system-registries.conf") };
    delete env.RL_REGISTRIES_CONF;
    writeFileSync(env.RL_SYSTEM_REGISTRIES_CONF!, `[[registry]]\nlocation = "${H}"\nblocked = true\n`);
    const user = join(env.XDG_CONFIG_HOME!, "containers/registries.conf");
    mkdirSync(join(env.XDG_CONFIG_HOME!, "containers"), { recursive: true });
    writeFileSync(user, `[[registry]]\nlocation = "${H}"\ninsecure = true\n`);
    try {
      // The user's file alone: H is reached over plain HTTP without --tls-verify=false; the system's block does not apply.
      expect(await rl(["pull", "-q", `${H}/alpine:3.20`], { env })).toMatchObject({ code: 0 });
      rmSync(user);
      expectOneLineError(await rl(["pull", "--tls-verify=false", `${H}/alpine:3.20`], { env }), new RegExp(`blocked in ${env.RL_SYSTEM_REGISTRIES_CONF}`));
    } finally {
      rmSync(user, { force: true });
    }
  });

  test("registries.conf: a blocked registry is refused before any request", async () => {
    writeFileSync(t.env.RL_REGISTRIES_CONF!, `[[registry]]\nlocation = "${H}"\nblocked = true\n`);
    try {
      expectOneLineError(await run(["pull", "--tls-verify=false", `${H}/alpine:3.20`]), /registry .* is blocked/);
    } finally {
      writeFileSync(t.env.RL_REGISTRIES_CONF!, "");
    }
  });

  test("registries.conf: a mirror is tried first; the image keeps its own name", async () => {
    const mirror = await startRegistry();
    try {
      await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `${mirror.host}/mirrored/busybox:only-on-mirror`);
      writeFileSync(t.env.RL_REGISTRIES_CONF!, `[[registry]]\nprefix = "example.invalid/mirrored"\nlocation = "example.invalid/mirrored"\n[[registry.mirror]]\nlocation = "${mirror.host}/mirrored"\ninsecure = true\n`);
      const r = await run(["pull", "-q", "example.invalid/mirrored/busybox:only-on-mirror"]);
      expect(r).toMatchObject({ code: 0 });
      expect(store().names).toContain("example.invalid/mirrored/busybox:only-on-mirror");
    } finally {
      writeFileSync(t.env.RL_REGISTRIES_CONF!, "");
      await mirror.stop();
    }
  });

  test("push: skopeo reads back the same manifest digest; a second repository gets blobs by cross-repo mount", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${H}/alpine:3.20`])).toMatchObject({ code: 0 });
    expect(await run(["pull", "-q", "--tls-verify=false", `${H}/library/busybox:v2s2`])).toMatchObject({ code: 0 });
    const r = await run(["push", "--tls-verify=false", `${H}/alpine:3.20`, `${H}/copy/alpine:pushed`]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stderr).toContain(`digest ${ALPINE_AMD64}`);
    const inspected = JSON.parse(await skopeo(["inspect", "--tls-verify=false", `docker://${H}/copy/alpine:pushed`]));
    expect(inspected.Digest).toBe(ALPINE_AMD64);
    expect(r.stderr).toMatch(/Mounted blob/);
    // busybox v2s2 shares its config (so its image id) with the zstd copy: push sends the manifest of the name given.
    const up = await run(["push", "--tls-verify=false", `${H}/library/busybox:v2s2`, `docker://${H}/fresh/busybox:1`]);
    expect(up).toMatchObject({ code: 0 });
    const again = await run(["push", "--tls-verify=false", `${H}/library/busybox:v2s2`, `${H}/fresh/busybox:2`]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/Blob exists/);
    expect(again.stderr).not.toMatch(/Copied|Mounted/);
    const pushed = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/fresh/busybox:2`]);
    const orig = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/library/busybox:v2s2`]);
    expect(pushed).toBe(orig);
  });

  /** Load an archive into the shared store, push it, and compare with what skopeo reads back. */
  async function loadAndPush(archive: string, dest: string) {
    const loaded = await run(["load", "-i", `${FIXTURES}/archives/${archive}`]);
    expect(loaded).toMatchObject({ code: 0 });
    const name = loaded.stdout.trim().split("\n").pop()!.replace(/^Loaded image: /, "");
    const [inspect] = JSON.parse((await run(["image", "inspect", name])).stdout);
    const pushed = await run(["push", "--tls-verify=false", name, `${H}/${dest}`]);
    expect(pushed).toMatchObject({ code: 0 });
    const seen = JSON.parse(await skopeo(["inspect", "--tls-verify=false", `docker://${H}/${dest}`]));
    return { inspect, pushed, seen };
  }

  test("push of a loaded oci-archive: the registry has the manifest digest rl reports", async () => {
    const { inspect, pushed, seen } = await loadAndPush("dive-test-oci-gzip-image.tar", "loaded/dive:oci");
    expect(inspect.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pushed.stderr).toContain(`digest ${inspect.Digest}`);
    expect(seen.Digest).toBe(inspect.Digest);
  });

  test("push of a loaded docker-archive: rl's schema2 manifest is what the registry holds, and pulls back to the same id", async () => {
    const { inspect, pushed, seen } = await loadAndPush("containers-image-almostempty.tar", "loaded/almostempty:1");
    expect(pushed.stderr).toContain(`digest ${inspect.Digest}`);
    expect(seen.Digest).toBe(inspect.Digest);
    const raw = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/loaded/almostempty:1`]));
    expect(raw.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    const fresh = makeRegistryEnv();
    try {
      const back = await fresh.run(["pull", "-q", "--tls-verify=false", `${H}/loaded/almostempty:1`]);
      expect(back).toMatchObject({ code: 0 });
      expect(back.stdout.trim()).toBe(inspect.Id.replace(/^sha256:/, ""));
    } finally {
      await fresh.t.cleanup();
    }
  });

  test("push of an image stored by rl run oci:...", async () => {
    // A store of its own: the shared one already holds this image id under the zstd manifest pulled above.
    const own = makeRegistryEnv();
    try {
      const ran = await own.run(["run", "--rm", `oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, "true"]);
      expect(ran).toMatchObject({ code: 0 });
      const id = blobJson("busybox-1.38.0-musl-amd64", "sha256:a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998").config.digest as string;
      const pushed = await own.run(["push", "--tls-verify=false", id, `${H}/fromrun/busybox:1`]);
      expect(pushed).toMatchObject({ code: 0 });
      const seen = JSON.parse(await skopeo(["inspect", "--tls-verify=false", `docker://${H}/fromrun/busybox:1`]));
      expect(seen.Digest).toBe("sha256:a34ce92094b7b100a98fbd21411a92825f6827b1bc5f6918c253516c90556998");
    } finally {
      await own.t.cleanup();
    }
  });

  test("rmi's garbage collection keeps every manifest an image was pulled under, with its layer blobs", async () => {
    // busybox v2s2 (gzip layers) and busybox:zstd are one image id; the store's own manifest is the zstd one.
    const orig = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/library/busybox:v2s2`]);
    const own = makeRegistryEnv();
    try {
      for (const ref of [`${H}/busybox:zstd`, `${H}/library/busybox:v2s2`]) expect(await own.run(["pull", "-q", "--tls-verify=false", ref])).toMatchObject({ code: 0 });
      expect(await own.run(["load", "-i", `${FIXTURES}/archives/containers-image-almostempty.tar`])).toMatchObject({ code: 0 });
      // Removing another image collects what no image uses: both busybox manifests must stay.
      expect(await own.run(["rmi", "emptyimage:latest"])).toMatchObject({ code: 0 });
      expect(await own.run(["push", "--tls-verify=false", `${H}/library/busybox:v2s2`, `${H}/aftergc/busybox:1`])).toMatchObject({ code: 0 });
      expect(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/aftergc/busybox:1`])).toBe(orig);
    } finally {
      await own.t.cleanup();
    }
  });

  test("a blob above 32 MiB is pushed in chunks (PATCH) to another registry and reads back identical", async () => {
    const dir = join(t.root, "big");
    mkdirSync(join(dir, "rootfs"), { recursive: true });
    const rnd = new Uint8Array(40 << 20);
    for (let off = 0; off < rnd.length; off += 65536) crypto.getRandomValues(rnd.subarray(off, off + 65536));
    writeFileSync(join(dir, "rootfs", "random.bin"), rnd);
    expect(await Bun.spawn(["tar", "-C", join(dir, "rootfs"), "-cf", join(dir, "layer.tar"), "."]).exited).toBe(0);
    for (const args of [["init", "--layout", join(dir, "oci")], ["new", "--image", `${join(dir, "oci")}:big`], ["raw", "add-layer", "--image", `${join(dir, "oci")}:big`, join(dir, "layer.tar")]]) {
      expect(await Bun.spawn(["umoci", ...args], { stdout: "ignore", stderr: "ignore" }).exited).toBe(0);
    }
    await fill(`oci:${join(dir, "oci")}:big`, `${H}/big:1`);
    expect((await run(["pull", "-q", "--tls-verify=false", `${H}/big:1`])).code).toBe(0);
    const other = await startRegistry();
    const proxy = startFaultProxy(other.host);
    try {
      const pushed = await run(["push", "--tls-verify=false", `${H}/big:1`, `${proxy.host}/big:1`]);
      expect(pushed).toMatchObject({ code: 0 });
      expect(proxy.seen.filter((s) => s.startsWith("PATCH ")).length, proxy.seen.join("\n")).toBeGreaterThanOrEqual(2);
      const a = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${H}/big:1`]);
      const b = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${other.host}/big:1`]);
      expect(b).toBe(a);
      expect(JSON.parse(b).layers[0].size).toBeGreaterThan(32 << 20);
    } finally {
      proxy.stop();
      await other.stop();
    }
  });

  test("errors: unknown host, refused connection, TLS to a plain-HTTP port: one line, exit 125, store unchanged", async () => {
    const before = store();
    // A first label of 64 characters is one the resolver library refuses to put in a query: the name fails as
    // unknown (ENOTFOUND) without any DNS packet leaving the machine (tests send nothing off 127.0.0.1).
    const unknown = `${"a".repeat(64)}.invalid`;
    expectOneLineError(await run(["pull", `${unknown}/x:1`]), new RegExp(`^rl: cannot pull ${unknown}/x:1: ${unknown}: no such host$`, "m"));
    const closed = await freePort();
    expectOneLineError(await run(["pull", "--tls-verify=false", `127.0.0.1:${closed}/x`]), /connection refused/);
    expectOneLineError(await run(["pull", `${H}/alpine:3.20`]), /TLS failed/);
    expectOneLineError(await run(["pull", "--tls-verify=false", `${H}/nothing:here`]), /HTTP 404/);
    expectOneLineError(await run(["pull", "Bad/Name"]), /invalid image reference/);
    expect(store()).toEqual(before);
  });
});

describe.skipIf(Boolean(reason))("registry faults: retries, resumes, corrupt blobs, Ctrl-C", () => {
  const { t, run, store } = makeRegistryEnv();
  let reg: Registry;
  let proxy: FaultProxy;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = startFaultProxy(reg.host);
    await fill(`oci:${OCI}/alpine-3.20.3:3.20.3`, `${reg.host}/alpine:3.20`, ["--all"]);
    await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `${reg.host}/busybox:1`);
    await fill(`oci:${OCI}/cirros-0.4.0-amd64:0.4.0`, `${reg.host}/cirros:1`);
    await fill(`oci:${OCI}/hello-world-multiarch:linux-amd64`, `${reg.host}/hello:1`);
  });
  afterAll(async () => {
    proxy?.stop();
    await reg?.stop();
    await t.cleanup();
  });

  const isBlobGet = (req: Request, url: URL) => req.method === "GET" && url.pathname.includes("/blobs/sha256:");

  test("429 and 503 answers are retried until the registry answers", async () => {
    let failures = 0;
    proxy.fault = (_req, url) => (url.pathname.includes("/manifests/") && failures++ < 3 ? new Response("busy", { status: failures === 1 ? 429 : 503 }) : "pass");
    const r = await run(["pull", "-q", "--tls-verify=false", `${proxy.host}/busybox:1`]);
    expect(r).toMatchObject({ code: 0 });
    expect(failures).toBeGreaterThan(3);
  });

  test("429 and 503 answers to blob downloads are retried until the registry answers", async () => {
    const failed = new Map<string, number>();
    proxy.fault = (req, url) => {
      if (!isBlobGet(req, url)) return "pass";
      const n = failed.get(url.pathname) ?? 0;
      if (n >= 2) return "pass";
      failed.set(url.pathname, n + 1);
      return new Response("busy", { status: n === 0 ? 429 : 503, headers: { "retry-after": "0" } });
    };
    const own = makeRegistryEnv(); // a store without these blobs
    try {
      const r = await own.run(["pull", "-q", "--tls-verify=false", `${proxy.host}/hello:1`]);
      expect(r).toMatchObject({ code: 0 });
      expect([...failed.values()]).toEqual([2, 2]); // the config and the layer, each refused twice
    } finally {
      proxy.fault = () => "pass";
      await own.t.cleanup();
    }
  });

  test("when the retries run out: one line naming the last answer, exit 125, store unchanged", async () => {
    const before = store();
    let answered = 0;
    proxy.fault = (req, url) => (isBlobGet(req, url) ? (answered++, new Response(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "try later" }] }), { status: 503 })) : "pass");
    try {
      expectOneLineError(await run(["pull", "--tls-verify=false", `${proxy.host}/cirros:1`]), new RegExp(`^rl: cannot pull ${proxy.host}/cirros:1: ${proxy.host}: try later \\(HTTP 503, still after 5 attempts\\)$`));
      expect(answered).toBe(5);
      expect(store()).toEqual(before);
    } finally {
      proxy.fault = () => "pass";
    }
  });

  test("a mirror that serves the manifest but fails a blob hands the whole pull to the next endpoint; when all fail, the registry's own error is reported", async () => {
    const mirror = startFaultProxy(reg.host);
    mirror.fault = (req, url) => (isBlobGet(req, url) ? new Response(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to mirror" }] }), { status: 404 }) : "pass");
    const { t, run, store } = makeRegistryEnv(); // a store without these blobs
    writeFileSync(t.env.RL_REGISTRIES_CONF!, `[[registry]]\nlocation = "${proxy.host}"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}"\ninsecure = true\n`);
    proxy.seen.length = 0;
    try {
      const r = await run(["pull", `${proxy.host}/busybox:1`]);
      expect(r).toMatchObject({ code: 0 });
      expect(mirror.seen.some((s) => s.startsWith("GET /v2/busybox/manifests/1"))).toBe(true);
      expect(r.stderr).toContain(`Failed on ${mirror.host}/busybox: ${mirror.host}: blob unknown to mirror (HTTP 404); trying ${proxy.host}/busybox`);
      expect(proxy.seen.some((s) => /^GET \/v2\/busybox\/blobs\/sha256:/.test(s))).toBe(true);
      expect(store().names).toContain(`${proxy.host}/busybox:1`);
      // Both fail: the mirror on a blob, the registry on the manifest; the registry's error is the one reported.
      const before = store();
      proxy.fault = (_req, url) => (url.pathname.includes("/manifests/") ? new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }), { status: 404 }) : "pass");
      const both = await run(["pull", `${proxy.host}/cirros:1`]);
      expectOneLineError(both, new RegExp(`^rl: cannot pull ${proxy.host}/cirros:1: ${proxy.host}: manifest unknown \\(HTTP 404\\)$`));
      expect(both.stderr).toContain(`Failed on ${mirror.host}/cirros: ${mirror.host}: blob unknown to mirror`);
      expect(store()).toEqual(before);
    } finally {
      proxy.fault = () => "pass";
      mirror.stop();
      await t.cleanup();
    }
  });

  test("a connection cut mid-layer is resumed with a Range request", async () => {
    proxy.seen.length = 0;
    proxy.fault = (req, url) => (isBlobGet(req, url) && !req.headers.get("range") ? "cut" : "pass");
    const r = await run(["pull", "-q", "--tls-verify=false", `${proxy.host}/alpine:3.20`]);
    expect(r).toMatchObject({ code: 0 });
    expect(proxy.seen.some((s) => /blobs\/sha256:d4e6fd67.* bytes=\d+-$/.test(s))).toBe(true);
    const run2 = await run(["run", "--rm", `${proxy.host}/alpine:3.20`, "cat", "/etc/alpine-release"]);
    expect(run2.stdout).toBe("3.20.3\n");
  });

  test("a blob whose bytes do not match its digest: one line, exit 125, nothing stored, no temp files", async () => {
    const before = store();
    proxy.fault = (req, url) => (isBlobGet(req, url) ? "corrupt" : "pass");
    const r = await run(["pull", "--tls-verify=false", `${proxy.host}/cirros:1`]);
    expectOneLineError(r, /does not match its digest/);
    expect(store()).toEqual(before);
    const blobs = join(t.env.RL_ROOT!, "blobs/sha256");
    const layer = blobJson("cirros-0.4.0-amd64", "sha256:9010f5035811ffdd4a7e31e4f09ec43d7a7d37df4e687e1128e7a6b92d42268f").layers[0].digest as string;
    expect(existsSync(join(blobs, layer.slice(7)))).toBe(false);
  });

  test("a 401 in the middle of a pull (an expired token) gets a new token and the request again", async () => {
    const signer = await selfSigned(join(t.root, "pki"), "signer");
    const tokens = startTokenServer({ ...signer, service: "svc", issuer: "iss", user: "u", password: "p" });
    let challenged = 0;
    proxy.fault = (req, url) => {
      if (!isBlobGet(req, url) || req.headers.get("authorization")?.startsWith("Bearer ")) return "pass";
      challenged++;
      return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "token expired" }] }), {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="${tokens.realm}",service="svc",scope="repository:hello:pull"` },
      });
    };
    try {
      const r = await run(["pull", "-q", "--tls-verify=false", "--creds", "u:p", `${proxy.host}/hello:1`]);
      expect(r).toMatchObject({ code: 0 });
      expect(challenged).toBeGreaterThanOrEqual(1);
      expect(tokens.requests).toContain("u repository:hello:pull");
    } finally {
      proxy.fault = () => "pass";
      tokens.stop();
    }
  });

  test("a Docker schema 1 manifest is refused with one line", async () => {
    const schema1 = readFileSync(`${FIXTURES}/manifests/containers-image/v2s1.manifest.json`);
    proxy.fault = (_req, url) => (url.pathname.endsWith("/manifests/old") ? new Response(schema1, { headers: { "content-type": "application/vnd.docker.distribution.manifest.v1+prettyjws" } }) : "pass");
    try {
      expectOneLineError(await run(["pull", "--tls-verify=false", `${proxy.host}/busybox:old`]), /Docker schema 1 image, which rl does not support/);
    } finally {
      proxy.fault = () => "pass";
    }
  });

  test("SIGINT during a download leaves no image and no temp files", async () => {
    const before = store();
    let stalled!: () => void;
    const sawBlob = new Promise<void>((resolve) => (stalled = resolve));
    proxy.fault = (req, url) => {
      if (!isBlobGet(req, url)) return "pass";
      stalled();
      return "stall";
    };
    const p = Bun.spawn([RL_BIN, "pull", "--tls-verify=false", `${proxy.host}/cirros:1`], { env: t.env, stdout: "pipe", stderr: "pipe" });
    await sawBlob;
    process.kill(p.pid, "SIGINT");
    const code = await p.exited;
    const stderr = await new Response(p.stderr).text();
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted by SIGINT/);
    expect(store()).toEqual(before);
    proxy.fault = () => "pass";
  });
});

describe.skipIf(Boolean(reason))("blobs damaged in the store: pull replaces them, push refuses to send them", () => {
  const { t, run } = makeRegistryEnv();
  let reg: Registry;
  let other: Registry;
  let layer = "";

  beforeAll(async () => {
    [reg, other] = await Promise.all([startRegistry(), startRegistry()]);
    await fill(`oci:${OCI}/hello-world-multiarch:linux-amd64`, `${reg.host}/hello:1`);
    layer = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/hello:1`])).layers[0].digest;
  });
  afterAll(async () => {
    await Promise.all([reg?.stop(), other?.stop()]);
    await t.cleanup();
  });

  const blobFile = () => join(t.env.RL_ROOT!, "blobs/sha256", layer.slice(7));
  const stored = () => `sha256:${new Bun.CryptoHasher("sha256").update(readFileSync(blobFile())).digest("hex")}`;

  test("a second pull replaces a truncated blob, and one of the same size with a flipped byte, instead of trusting that it exists", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${reg.host}/hello:1`])).toMatchObject({ code: 0 });
    const whole = readFileSync(blobFile());
    writeFileSync(blobFile(), whole.subarray(0, whole.length >> 1));
    const again = await run(["pull", "--tls-verify=false", `${reg.host}/hello:1`]);
    expect(again).toMatchObject({ code: 0 });
    expect(again.stderr).toContain(`Blob ${layer.slice(7, 19)} in the store does not match its digest: downloading it again`);
    expect(stored()).toBe(layer);
    const flipped = new Uint8Array(whole);
    flipped[flipped.length >> 1]! ^= 1;
    writeFileSync(blobFile(), flipped);
    expect(await run(["pull", "-q", "--tls-verify=false", `${reg.host}/hello:1`])).toMatchObject({ code: 0 });
    expect(stored()).toBe(layer);
  });

  test("push of a damaged blob: one line naming it, exit 125, and no manifest on the registry; after a pull it pushes", async () => {
    expect(await run(["pull", "-q", "--tls-verify=false", `${reg.host}/hello:1`])).toMatchObject({ code: 0 });
    const whole = readFileSync(blobFile());
    const flipped = new Uint8Array(whole);
    flipped[flipped.length >> 1]! ^= 1;
    writeFileSync(blobFile(), flipped);
    const r = await run(["push", "--tls-verify=false", `${reg.host}/hello:1`, `${other.host}/damaged:1`]);
    expectOneLineError(r, new RegExp(`^rl: cannot push ${reg.host}/hello:1: blob ${layer} of ${reg.host}/hello:1 is damaged in the store \\(its bytes do not match its digest\\): rl pull or rl load the image again$`));
    await expect(skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${other.host}/damaged:1`])).rejects.toThrow(/manifest unknown/);
    writeFileSync(blobFile(), whole.subarray(0, 100));
    expectOneLineError(await run(["push", "--tls-verify=false", `${reg.host}/hello:1`, `${other.host}/damaged:1`]), /is damaged in the store/);
    expect(await run(["pull", "-q", "--tls-verify=false", `${reg.host}/hello:1`])).toMatchObject({ code: 0 });
    expect(await run(["push", "-q", "--tls-verify=false", `${reg.host}/hello:1`, `${other.host}/damaged:1`])).toMatchObject({ code: 0 });
    expect(JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${other.host}/damaged:1`])).layers[0].digest).toBe(layer);
  });
});

describe.skipIf(Boolean(reason))("--pull newer (run) and --policy newer (pull)", () => {
  const { t, run } = makeRegistryEnv();
  let reg: Registry;
  afterAll(async () => {
    await reg?.stop();
    await t.cleanup();
  });

  test("pulls when the registry's digest differs, keeps the stored image when it is the same, and uses it with a warning when the registry cannot be reached", async () => {
    reg = await startRegistry();
    const name = `${reg.host}/app:1`;
    await fill(`oci:${OCI}/hello-world-multiarch:linux-amd64`, name);
    const first = await run(["pull", "-q", "--tls-verify=false", name]);
    expect(first.code).toBe(0);
    const same = await run(["pull", "--policy", "newer", "--tls-verify=false", name]);
    expect(same).toMatchObject({ code: 0, stdout: first.stdout });
    expect(same.stderr).toContain(`${name} is up to date`);
    expect(same.stderr).not.toContain("Copied blob");
    // The tag moves on the registry: newer pulls it.
    await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, name);
    const moved = await run(["run", "--rm", "--pull", "newer", "--tls-verify=false", name, "busybox", "echo", "new"]);
    expect(moved).toMatchObject({ code: 0, stdout: "new\n" });
    expect(moved.stderr).toContain(`Stored ${name}`);
    const kept = await run(["run", "--rm", "--pull", "newer", "--tls-verify=false", name, "busybox", "echo", "kept"]);
    expect(kept).toMatchObject({ code: 0, stdout: "kept\n" });
    expect(kept.stderr).toContain(`${name} is up to date`);
    // The registry is gone: the stored image serves, with a warning.
    await reg.stop();
    const offline = await run(["run", "--rm", "--pull", "newer", "--tls-verify=false", name, "busybox", "echo", "offline"]);
    expect(offline).toMatchObject({ code: 0, stdout: "offline\n" });
    expect(offline.stderr).toMatch(new RegExp(`^rl: warning: cannot check for a newer ${name}, using the stored image [0-9a-f]{12}: ${reg.host}: connection refused$`, "m"));
    const pulled = await run(["pull", "--policy", "newer", "--tls-verify=false", name]);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).not.toBe(first.stdout);
    // An image named by its id has no registry to ask: no warning.
    const byId = await run(["run", "--rm", "--pull", "newer", pulled.stdout.trim().slice(0, 12), "busybox", "echo", "by-id"]);
    expect(byId).toMatchObject({ code: 0, stdout: "by-id\n", stderr: "" });
    expectOneLineError(await run(["pull", "--policy", "never", `${reg.host}/other:1`]), /is not in the local store \(--pull=never\)$/);
    expectOneLineError(await run(["pull", "--policy", "sometimes", name]), /invalid value|sometimes/);
  });
});

describe.skipIf(Boolean(reason))("a pull that fails after some layers landed leaves none of them", () => {
  const { t, run, store } = makeRegistryEnv();
  let reg: Registry;
  let proxy: FaultProxy;
  let manifest: { layers: { digest: string }[] };

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = startFaultProxy(reg.host);
    await fill(makeLayeredImage(join(t.root, "layered")), `${reg.host}/layered:1`);
    manifest = JSON.parse(await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/layered:1`]));
  });
  afterAll(async () => {
    proxy?.stop();
    await reg?.stop();
    await t.cleanup();
  });

  const layersDir = () => join(t.env.RL_ROOT!, "layers");
  const blobsDir = () => join(t.env.RL_ROOT!, "blobs", "sha256");
  const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  const nothingLeft = async () => {
    expect(store()).toEqual({ images: 0, names: [], tmp: [] });
    expect(ls(layersDir())).toEqual([]);
    expect(ls(blobsDir())).toEqual([]);
    const [images] = JSON.parse((await run(["system", "df", "--format", "json"])).stdout);
    expect(images).toMatchObject({ Type: "Images", Total: 0, Size: 0, Reclaimable: 0 });
  };

  test("SIGINT while the last layer downloads: the layers already unpacked and their blobs are removed", async () => {
    expect(manifest.layers.length).toBe(3);
    expect(ls(layersDir())).toEqual([]);
    const last = manifest.layers[2]!.digest;
    proxy.fault = (req, url) => (req.method === "GET" && url.pathname.endsWith(`/blobs/${last}`) ? "stall" : "pass");
    const p = Bun.spawn([RL_BIN, "pull", "--tls-verify=false", `${proxy.host}/layered:1`], { env: { ...t.env, RL_DEBUG: "1" }, stdout: "pipe", stderr: "pipe" });
    try {
      // The two other layers are downloaded and unpacked while the last one stalls.
      while (ls(layersDir()).length < 2) {
        if (p.exitCode !== null) throw new Error(`rl pull ended (${p.exitCode}) before the two layers landed: ${await new Response(p.stderr).text()}`);
        await Bun.sleep(50);
      }
    } finally {
      process.kill(p.pid, "SIGINT");
      expect(await p.exited).toBe(130);
      proxy.fault = () => "pass";
    }
    // The stalled layer's unpacking had started on the bytes that came (it follows the download), and it
    // ended with the pull.
    const stderr = await new Response(p.stderr).text();
    expect(stderr).toContain("unpacking layer 3 of 3");
    expect(stderr).not.toContain("unpacked layer 3 of 3");
    expect(stderr.trim().split("\n").pop()).toMatch(/^rl: cannot pull .*: interrupted by SIGINT$/);
    await nothingLeft();
  });

  test("a corrupt last layer: one line, exit 125, the good layers and blobs are removed", async () => {
    const last = manifest.layers[2]!.digest;
    proxy.fault = (req, url) => (req.method === "GET" && url.pathname.endsWith(`/blobs/${last}`) ? "corrupt" : "pass");
    try {
      expectOneLineError(await run(["pull", "--tls-verify=false", `${proxy.host}/layered:1`]), /does not match its digest/);
    } finally {
      proxy.fault = () => "pass";
    }
    await nothingLeft();
    // Without the fault the same image pulls (in a store of its own: this block's store stays empty).
    const own = makeRegistryEnv();
    try {
      expect(await own.run(["pull", "-q", "--tls-verify=false", `${reg.host}/layered:1`])).toMatchObject({ code: 0 });
      expect(ls(join(own.t.env.RL_ROOT!, "layers")).length).toBe(3);
    } finally {
      await own.t.cleanup();
    }
  });

  test("on a terminal with fewer rows than layers, the redrawn block stays rows - 1 high: the bars that fit, then a count of the rest", async () => {
    const own = makeRegistryEnv(); // nothing stored: every layer moves
    try {
      const pulled = await onTerminal(own.t.env, ["pull", "--tls-verify=false", `${reg.host}/layered:1`], 100, 3);
      expect(pulled.code).toBe(0);
      // Every redraw moves up over at most 2 lines (rows - 1), never over lines that scrolled away.
      const ups = [...pulled.out.matchAll(/\x1b\[(\d+)A/g)].map((m) => Number(m[1]));
      expect(ups.length).toBeGreaterThan(0);
      expect(Math.max(...ups)).toBeLessThanOrEqual(2);
      // The final block: the last layer's line and one line for the two others.
      const finalBlock = pulled.out.slice(pulled.out.lastIndexOf("\x1b[J") + 3).replace(/\x1b\[K/g, "").split(/\r?\n/);
      expect(finalBlock.slice(0, 2)).toEqual([`Copying blob ${manifest.layers[2]!.digest.slice(7, 19)} done ${finalBlock[0]!.split(" done ")[1]}`, "+ 2 more blobs: 2 done"]);
      expect(finalBlock[2]).toStartWith(`Stored ${reg.host}/layered:1 as `);
    } finally {
      await own.t.cleanup();
    }
  });
});

describe.skipIf(Boolean(reason))("registry auth: htpasswd, login/logout, auth.json, --creds", () => {
  const { t, run, store } = makeRegistryEnv();
  let reg: Registry;
  const creds = ["--dest-creds", "alice:s3cret"];

  beforeAll(async () => {
    reg = await startRegistry({ basic: { user: "alice", password: "s3cret" } });
    await fill(`oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `${reg.host}/private/busybox:1`, creds);
  });
  afterAll(async () => {
    await reg?.stop();
    await t.cleanup();
  });

  const authJson = () => join(t.env.XDG_RUNTIME_DIR!, "containers/auth.json");

  test("anonymous pull is refused with one line", async () => {
    const own = makeRegistryEnv(); // no credentials anywhere
    try {
      expectOneLineError(await own.run(["pull", "--tls-verify=false", `${reg.host}/private/busybox:1`]), /authentication required|unauthorized/);
      expect(own.store()).toMatchObject({ images: 0, names: [] });
    } finally {
      await own.t.cleanup();
    }
  });

  test("login with a wrong password fails and writes nothing", async () => {
    const own = makeRegistryEnv();
    try {
      expectOneLineError(await own.run(["login", "--tls-verify=false", "-u", "alice", "-p", "wrong", reg.host]), /unauthorized/);
      expect(existsSync(join(own.t.env.XDG_RUNTIME_DIR!, "containers/auth.json"))).toBe(false);
      expect(existsSync(join(own.t.env.XDG_RUNTIME_DIR!, "containers"))).toBe(false);
    } finally {
      await own.t.cleanup();
    }
  });

  test("login writes auth.json (mode 0600), pull uses it, logout removes it", async () => {
    const login = await run(["login", "--tls-verify=false", "-u", "alice", "--password-stdin", reg.host], "s3cret\n");
    expect(login).toMatchObject({ code: 0, stdout: "Login Succeeded!\n" });
    const doc = JSON.parse(readFileSync(authJson(), "utf8"));
    expect(doc.auths[reg.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));
    expect(statSync(authJson()).mode & 0o777).toBe(0o600);
    const pull = await run(["run", "--rm", "--tls-verify=false", `${reg.host}/private/busybox:1`, "busybox", "echo", "authed"]);
    expect(pull.stdout).toBe("authed\n");
    const out = await run(["logout", reg.host]);
    expect(out).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(authJson(), "utf8")).auths[reg.host]).toBeUndefined();
    expectOneLineError(await run(["logout", reg.host]), /not logged into/);
    expectOneLineError(await run(["pull", "--tls-verify=false", `${reg.host}/private/busybox:1`]), /authentication required|unauthorized/);
  });

  test("pull reads credentials from --authfile and from $REGISTRY_AUTH_FILE", async () => {
    const file = join(t.root, "pull-auth.json");
    writeFileSync(file, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    const own = makeRegistryEnv(); // nothing stored, no auth.json of its own
    try {
      expectOneLineError(await own.run(["pull", "--tls-verify=false", `${reg.host}/private/busybox:1`]), /authentication required|unauthorized/);
      expect(await own.run(["pull", "-q", "--tls-verify=false", "--authfile", file, `${reg.host}/private/busybox:1`])).toMatchObject({ code: 0 });
      expect(await own.run(["rmi", `${reg.host}/private/busybox:1`])).toMatchObject({ code: 0 });
      const r = await rl(["pull", "-q", "--tls-verify=false", `${reg.host}/private/busybox:1`], { env: { ...own.t.env, REGISTRY_AUTH_FILE: file } });
      expect(r).toMatchObject({ code: 0 });
      expect(own.store().names).toEqual([`${reg.host}/private/busybox:1`]);
    } finally {
      await own.t.cleanup();
    }
  });

  test("login on a terminal asks for the user name, then the password without showing it; elsewhere what is missing is an error", async () => {
    const authfile = join(t.root, "prompted-auth.json");
    const cmd = [RL_BIN, "login", "--tls-verify=false", "--authfile", authfile, reg.host].join(" ");
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { env: t.env, stdout: "pipe", stderr: "pipe", stdin: "pipe" });
    let out = "";
    const decoder = new TextDecoder();
    const reader = p.stdout.getReader();
    /** Read the terminal until `text` shows, then type `answer`. */
    const answer = async (text: string, typed: string) => {
      while (!out.includes(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`rl login ended before asking ${JSON.stringify(text)}: ${out}`);
        out += decoder.decode(value);
      }
      p.stdin.write(typed);
      await p.stdin.flush();
    };
    await answer("Username: ", "alice\r");
    await answer("Password: ", "s3cret\r");
    for (let r = await reader.read(); !r.done; r = await reader.read()) out += decoder.decode(r.value);
    p.stdin.end();
    expect(await p.exited, out).toBe(0);
    expect(out).toContain("Username: alice");
    expect(out).toContain("Login Succeeded!");
    expect(out).not.toContain("s3cret");
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths[reg.host].auth).toBe(Buffer.from("alice:s3cret").toString("base64"));
    // Not on a terminal (stdin is /dev/null here): nothing is asked.
    expectOneLineError(await run(["login", "--tls-verify=false", reg.host]), /a user name is required: use -u USER/);
    expectOneLineError(await run(["login", "--tls-verify=false", "-u", "alice", reg.host]), /a password is required: use -p PASSWORD or --password-stdin \(or run rl login on a terminal to be asked\)/);
  });

  test("--creds, --authfile and ~/.docker/config.json are credentials too; bad --creds fail with one line", async () => {
    const before = store();
    expectOneLineError(await run(["pull", "--tls-verify=false", "--creds", "alice:nope", `${reg.host}/private/busybox:1`]), /unauthorized/);
    expect(store()).toEqual(before);
    const ok = await run(["pull", "-q", "--tls-verify=false", "--creds", "alice:s3cret", `${reg.host}/private/busybox:1`]);
    expect(ok).toMatchObject({ code: 0 });
    const docker = join(t.env.HOME!, ".docker");
    mkdirSync(docker, { recursive: true });
    writeFileSync(join(docker, "config.json"), JSON.stringify({ auths: { [`http://${reg.host}/v1/`]: { auth: Buffer.from("alice:s3cret").toString("base64") } } }));
    try {
      const push = await run(["push", "--tls-verify=false", `${reg.host}/private/busybox:1`, `${reg.host}/private/copy:1`]);
      expect(push).toMatchObject({ code: 0 });
    } finally {
      rmSync(docker, { recursive: true, force: true }); // the other tests of this block run without it
    }
    const authfile = join(t.root, "my-auth.json");
    const login = await run(["login", "--tls-verify=false", "--authfile", authfile, "-u", "alice", "-p", "s3cret", reg.host]);
    expect(login).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths[reg.host]).toBeDefined();
    const all = await run(["logout", "--all", "--authfile", authfile]);
    expect(all).toMatchObject({ code: 0 });
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths).toEqual({});
  });
});

describe.skipIf(Boolean(reason))("registry with TLS (certs.d) and bearer tokens", () => {
  const { t, run } = makeRegistryEnv();
  let reg: Registry;
  let tokens: TokenServer;
  let serverCert: { cert: string; key: string };

  beforeAll(async () => {
    const pki = join(t.root, "pki");
    serverCert = await selfSigned(pki, "registry");
    const signer = await selfSigned(pki, "token-signer");
    tokens = startTokenServer({ ...signer, service: "rl-test-registry", issuer: "rl-test-issuer", user: "bob", password: "tok3n", anonymousPull: ["public/"] });
    reg = await startRegistry({ tls: serverCert, token: { realm: tokens.realm, service: "rl-test-registry", issuer: "rl-test-issuer", rootCert: signer.cert } });
    // Fill it through skopeo with a token for bob (skopeo does the same token dance).
    await skopeo(["copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "bob:tok3n", `oci:${OCI}/busybox-1.38.0-musl-amd64:busybox:1.38.0-musl`, `docker://${reg.host}/team/busybox:1`]);
    await skopeo(["copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "bob:tok3n", `oci:${OCI}/hello-world-multiarch:linux-amd64`, `docker://${reg.host}/public/hello:1`]);
    mkdirSync(join(t.env.RL_CERTS_DIR!, reg.host), { recursive: true });
    writeFileSync(join(t.env.RL_CERTS_DIR!, reg.host, "ca.crt"), readFileSync(serverCert.cert));
  });
  afterAll(async () => {
    await reg?.stop();
    tokens?.stop();
    await t.cleanup();
  });

  test("TLS is verified with the CA from certs.d; anonymous tokens get no access", async () => {
    const r = await run(["pull", `${reg.host}/team/busybox:1`]);
    expectOneLineError(r, /unauthorized/);
    expect(tokens.requests).toContain("- repository:team/busybox:pull");
  });

  test("an anonymous bearer token that grants pull is enough to pull", async () => {
    const r = await run(["run", "--rm", `${reg.host}/public/hello:1`]);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toContain("Hello from Docker!");
    expect(tokens.requests).toContain("- repository:public/hello:pull");
  });

  test("certs.d CAs are added to the roots TLS trusts by default, not put in their place", async () => {
    // NODE_EXTRA_CA_CERTS stands for the system's trust store here: it trusts the registry's CA, while
    // certs.d holds another CA for that host. Both count, as in podman.
    const certs = join(t.root, "other-certs.d");
    const unrelated = await selfSigned(join(t.root, "pki-other"), "unrelated-ca");
    mkdirSync(join(certs, reg.host), { recursive: true });
    writeFileSync(join(certs, reg.host, "unrelated.crt"), readFileSync(unrelated.cert));
    const env = { ...t.env, RL_CERTS_DIR: certs, NODE_EXTRA_CA_CERTS: serverCert.cert };
    const r = await rl(["pull", "-q", "--creds", "bob:tok3n", `${reg.host}/team/busybox:1`], { env });
    expect(r).toMatchObject({ code: 0 });
    // And with neither trusting it, TLS fails.
    expectOneLineError(await rl(["pull", "--creds", "bob:tok3n", `${reg.host}/team/busybox:1`], { env: { ...env, NODE_EXTRA_CA_CERTS: unrelated.cert } }), /TLS failed/);
  });

  test("without the CA, TLS fails with one line; --tls-verify=false accepts the certificate", async () => {
    const env = { ...t.env, RL_CERTS_DIR: join(t.root, "no-certs") };
    expectOneLineError(await rl(["pull", "--creds", "bob:tok3n", `${reg.host}/team/busybox:1`], { env }), /TLS failed/);
    const r = await rl(["pull", "-q", "--tls-verify=false", "--creds", "bob:tok3n", `${reg.host}/team/busybox:1`], { env });
    expect(r).toMatchObject({ code: 0 });
  });

  test("login gets a token with the password; pull and push then use bearer tokens scoped to the repository", async () => {
    expectOneLineError(await run(["login", "-u", "bob", "-p", "bad", reg.host]), /bad username or password|unauthorized/);
    const login = await run(["login", "-u", "bob", "-p", "tok3n", reg.host]);
    expect(login).toMatchObject({ code: 0 });
    try {
      const r = await run(["run", "--rm", `${reg.host}/team/busybox:1`, "busybox", "echo", "token-ok"]);
      expect(r.stdout).toBe("token-ok\n");
      expect(tokens.requests).toContain("bob repository:team/busybox:pull");
      const push = await run(["push", `${reg.host}/team/busybox:1`, `${reg.host}/team/other:2`]);
      expect(push).toMatchObject({ code: 0 });
      expect(tokens.requests).toContain("bob repository:team/other:pull,push");
    } finally {
      // The other tests of this block are anonymous.
      expect(await run(["logout", reg.host])).toMatchObject({ code: 0 });
    }
  });
});
