import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatRef, parseRegistryRef } from "../../cli/lib/registry/ref";
import { normalizeName, parseImageRef } from "../../cli/lib/image/reference";
import { findRegistry, parseRegistriesConf, registriesConfPath } from "../../cli/lib/registry/registries-conf";
import { endpointsFor } from "../../cli/lib/registry/endpoints";
import { checkAuthFile, findCredentials, readableAuthFiles, removeCredentials, storeCredentials, writableAuthFile } from "../../cli/lib/registry/auth-file";
import { parseChallenge } from "../../cli/lib/registry/client";
import { hostTls, withDefaultCas } from "../../cli/lib/registry/certs";
import { imageHasPlatform, parsePullPolicy, platformAsked, PULL_POLICIES } from "../../cli/lib/registry/pull-policy";
import { expansionError, expansionLimit, unreadableCompression } from "../../cli/lib/image/compression";
import { registryTimeoutMs } from "../../cli/lib/registry/limits";
import { readBody, readPrefix } from "../../cli/lib/registry/read-body";
import { isNetworkError, networkWords } from "../../cli/lib/registry/network-error";
import { localFailure } from "../../cli/lib/registry/local-failure";
import type { Paths } from "../../cli/lib/paths";
import type { StoredImage } from "../../cli/lib/store/images";
import { getCACertificates } from "node:tls";
import { wantedPlatform } from "../../cli/lib/image/platform";
import { drawBar, Meter, Progress, renderBlock, renderItem, type ItemState } from "../../cli/lib/registry/progress";

const D = `sha256:${"ab".repeat(32)}`;
// Made in beforeAll, not at load, so a run that -t filters away leaves nothing in /tmp.
let tmp = "";
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "rl-registry-unit-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("registry references (docker's rules)", () => {
  test("short names, tags, digests, ports and IPv6 literals", () => {
    expect(parseRegistryRef("alpine")).toEqual({ registry: "", repository: "alpine", tag: undefined, digest: undefined });
    expect(parseRegistryRef("docker.io/alpine:3.20")).toMatchObject({ registry: "docker.io", repository: "library/alpine", tag: "3.20" });
    expect(parseRegistryRef("localhost:5000/a/b:1")).toMatchObject({ registry: "localhost:5000", repository: "a/b", tag: "1" });
    expect(parseRegistryRef(`x/y@${D}`)).toMatchObject({ registry: "", repository: "x/y", tag: undefined, digest: D });
    expect(parseRegistryRef(`h.io/y:t@${D}`)).toMatchObject({ registry: "h.io", repository: "y", tag: "t", digest: D });
    expect(parseRegistryRef("[::1]:5000/x")).toMatchObject({ registry: "[::1]:5000", repository: "x" });
    expect(parseRegistryRef("docker://localhost/x")).toMatchObject({ registry: "localhost", repository: "x" });
    expect(parseRegistryRef("index.docker.io/busybox")).toMatchObject({ registry: "docker.io", repository: "library/busybox" });
  });

  test("bad references are refused with the reason", () => {
    expect(() => parseRegistryRef("Alpine")).toThrow(/lowercase/);
    expect(() => parseRegistryRef("x@sha256:12")).toThrow(/digest/);
    expect(() => parseRegistryRef("h.io/")).toThrow(/repository name is missing|lowercase/);
    expect(() => parseRegistryRef("x:bad tag")).toThrow();
    expect(() => parseRegistryRef("[zz]:1/x")).toThrow(/IPv6/);
  });

  test("stored names are podman's; normalizeName agrees with them", () => {
    expect(formatRef(parseRegistryRef("localhost:5000/alpine:3.20"))).toBe("localhost:5000/alpine:3.20");
    expect(formatRef(parseRegistryRef(`h.io/y:t@${D}`))).toBe(`h.io/y@${D}`);
    expect(normalizeName("alpine")).toBe("docker.io/library/alpine:latest");
    expect(normalizeName("user/app")).toBe("docker.io/user/app:latest");
    expect(normalizeName(`alpine@${D}`)).toBe(`docker.io/library/alpine@${D}`);
    expect(normalizeName("[::1]:5000/x")).toBe("[::1]:5000/x:latest");
    expect(normalizeName("NotAName!")).toBe("NotAName!");
  });

  test("parseImageRef: docker:// is a registry, other schemes are refused", () => {
    expect(parseImageRef("docker://alpine")).toMatchObject({ transport: "docker", name: "alpine" });
    expect(parseImageRef("alpine")).toMatchObject({ transport: "store", name: "alpine" });
    expect(() => parseImageRef("ftp://x")).toThrow(/unknown transport/);
  });
});

describe("registries.conf v2", () => {
  const conf = parseRegistriesConf(
    Bun.TOML.parse(`
unqualified-search-registries = ["one.test", "two.test:5000"]
[[registry]]
location = "two.test:5000"
insecure = true
[[registry]]
location = "bad.test"
blocked = true
[[registry]]
prefix = "docker.io/library"
location = "hub.test/lib"
[[registry.mirror]]
location = "mirror.test:1/lib"
insecure = true
`) as Record<string, unknown>,
  );

  test("longest prefix wins; wildcards match subdomains", () => {
    expect(findRegistry(conf, "docker.io/library/alpine")?.location).toBe("hub.test/lib");
    expect(findRegistry(conf, "docker.io/other/x")).toBeUndefined();
    const wild = parseRegistriesConf({ registry: [{ prefix: "*.corp.test", insecure: true }] });
    expect(findRegistry(wild, "a.corp.test/x")?.insecure).toBe(true);
  });

  test("short names try each search registry; blocked ones are skipped or refused", () => {
    const e = endpointsFor(parseRegistryRef("app:1"), conf, {});
    expect(e.map((x) => `${x.host}/${x.repository} ${x.insecure}`)).toEqual(["one.test/app false", "two.test:5000/app true"]);
    expect(() => endpointsFor(parseRegistryRef("bad.test/x"), conf, {})).toThrow(/blocked/);
  });

  test("mirrors come first for pulls, never for pushes; the recorded name stays the user's", () => {
    const pull = endpointsFor(parseRegistryRef("docker.io/alpine:3"), conf, {});
    expect(pull.map((x) => `${x.host}/${x.repository}`)).toEqual(["mirror.test:1/lib/alpine", "hub.test/lib/alpine"]);
    expect(formatRef(pull[0]!.ref)).toBe("docker.io/library/alpine:3");
    expect(endpointsFor(parseRegistryRef("docker.io/alpine:3"), conf, { forPush: true })).toHaveLength(1);
    expect(endpointsFor(parseRegistryRef("one.test/x"), conf, { tlsVerify: false })[0]!.insecure).toBe(true);
  });

  test("--tls-verify: unset, registries.conf's insecure decides; given, it wins either way (mirrors too)", () => {
    const insecure = (name: string, tlsVerify?: boolean) => endpointsFor(parseRegistryRef(name), conf, { tlsVerify }).map((x) => x.insecure);
    expect(insecure("two.test:5000/x")).toEqual([true]);
    expect(insecure("two.test:5000/x", true)).toEqual([false]);
    expect(insecure("docker.io/alpine")).toEqual([true, false]);
    expect(insecure("docker.io/alpine", true)).toEqual([false, false]);
    expect(insecure("docker.io/alpine", false)).toEqual([true, true]);
  });

  test("the file: RL_REGISTRIES_CONF alone; else the user's when it exists; else the system's", () => {
    const config = join(tmp, "xdg-config");
    const env = { HOME: join(tmp, "home"), XDG_CONFIG_HOME: config, RL_SYSTEM_REGISTRIES_CONF: join(tmp, "system.conf") } as NodeJS.ProcessEnv;
    expect(registriesConfPath(env)).toBeUndefined();
    writeFileSync(env.RL_SYSTEM_REGISTRIES_CONF!, "");
    expect(registriesConfPath(env)).toBe(env.RL_SYSTEM_REGISTRIES_CONF);
    mkdirSync(join(config, "containers"), { recursive: true });
    writeFileSync(join(config, "containers/registries.conf"), "");
    expect(registriesConfPath(env)).toBe(join(config, "containers/registries.conf"));
    expect(registriesConfPath({ ...env, RL_REGISTRIES_CONF: "/x.conf" })).toBe("/x.conf");
  });

  test("an empty conf means docker.io for short names", () => {
    expect(endpointsFor(parseRegistryRef("alpine"), { unqualifiedSearch: [], registries: [] }, {})[0]).toMatchObject({ host: "docker.io", repository: "library/alpine" });
  });
});

describe("auth.json and docker config.json", () => {
  let env: NodeJS.ProcessEnv = {};
  beforeAll(() => {
    env = { HOME: join(tmp, "home"), XDG_RUNTIME_DIR: join(tmp, "run") };
  });

  test("files in podman's order; --authfile alone when given", () => {
    expect(writableAuthFile(undefined, env)).toBe(join(tmp, "run/containers/auth.json"));
    expect(readableAuthFiles(undefined, env)).toEqual([join(tmp, "run/containers/auth.json"), join(tmp, "home/.config/containers/auth.json"), join(tmp, "home/.docker/config.json")]);
    expect(readableAuthFiles("/x.json", env)).toEqual(["/x.json"]);
    expect(writableAuthFile(undefined, { ...env, REGISTRY_AUTH_FILE: "/r.json" })).toBe("/r.json");
  });

  test("store, find (most specific key first, docker's URL keys), remove", () => {
    const file = writableAuthFile(undefined, env);
    storeCredentials(file, "reg.test:5000", { username: "u", password: "p:w" });
    storeCredentials(file, "reg.test:5000/team", { username: "team", password: "t" });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(findCredentials("reg.test:5000", "team/app", undefined, env)).toEqual({ username: "team", password: "t" });
    expect(findCredentials("reg.test:5000", "other/app", undefined, env)).toEqual({ username: "u", password: "p:w" });
    mkdirSync(join(tmp, "home/.docker"), { recursive: true });
    writeFileSync(join(tmp, "home/.docker/config.json"), JSON.stringify({ auths: { "https://index.docker.io/v1/": { auth: btoa("hub:pw") } } }));
    expect(findCredentials("docker.io", "library/alpine", undefined, env)).toEqual({ username: "hub", password: "pw" });
    expect(removeCredentials(file, "reg.test:5000")).toBe(true);
    expect(removeCredentials(file, "reg.test:5000")).toBe(false);
    expect(Object.keys(JSON.parse(readFileSync(file, "utf8")).auths)).toEqual(["reg.test:5000/team"]);
    expect(removeCredentials(file, "all")).toBe(true);
    expect(JSON.parse(readFileSync(file, "utf8")).auths).toEqual({});
  });

  test("a broken file is named in the error", () => {
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, "{nope");
    expect(() => findCredentials("x", "y", bad)).toThrow(/cannot read credentials from .*bad\.json/);
  });
});

describe("challenges, certs.d, platforms", () => {
  test("WWW-Authenticate parameters, quoted or not", () => {
    expect(parseChallenge('Bearer realm="https://auth.test/token",service="reg",scope="repository:a/b:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.test/token", service: "reg", scope: "repository:a/b:pull,push" },
    });
    expect(parseChallenge('Basic realm="x"')).toEqual({ scheme: "basic", params: { realm: "x" } });
  });

  test("a stored image counts for a platform asked only when its config names that platform", () => {
    const img = (c: Record<string, string>) => ({ id: D, names: [], config: c, layers: [], manifestDigest: null, stored: 0 }) as unknown as StoredImage;
    const amd64 = { os: "linux", architecture: "amd64" };
    expect(imageHasPlatform(img({ os: "linux", architecture: "amd64" }), amd64)).toBe(true);
    expect(imageHasPlatform(img({ os: "linux", architecture: "arm64" }), amd64)).toBe(false);
    expect(imageHasPlatform(img({ os: "linux", architecture: "arm64" }), { os: "linux", architecture: "arm64", variant: "v8" })).toBe(true);
    expect(imageHasPlatform(img({ os: "linux", architecture: "arm", variant: "v6" }), { os: "linux", architecture: "arm", variant: "v7" })).toBe(false);
    expect(imageHasPlatform(img({}), amd64)).toBe(true); // no platform recorded: nothing to compare
    expect([platformAsked({}), platformAsked({ os: "linux" }), platformAsked({ arch: "arm64" }), platformAsked({ platform: "linux/amd64" })]).toEqual([false, true, true, true]);
  });

  test("certs.d: *.crt are CAs, *.cert with *.key a client certificate", () => {
    const dir = join(tmp, "certs.d", "reg.test:5000");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "ca.crt"), "CA");
    writeFileSync(join(dir, "client.cert"), "CERT");
    writeFileSync(join(dir, "client.key"), "KEY");
    expect(hostTls("reg.test:5000", { RL_CERTS_DIR: join(tmp, "certs.d") })).toEqual({ ca: ["CA"], cert: "CERT", key: "KEY" });
    expect(hostTls("other:1", { RL_CERTS_DIR: join(tmp, "certs.d") })).toEqual({ ca: [] });
  });

  test("certs.d CAs come after the roots trusted by default", () => {
    const all = withDefaultCas(["EXTRA"]);
    expect(all.length).toBeGreaterThan(1);
    expect(all.slice(0, -1)).toEqual(getCACertificates("default"));
    expect(all.at(-1)).toBe("EXTRA");
  });

  test("--arch/--variant/--os replace parts of the platform", () => {
    expect(wantedPlatform({ os: "windows" })).toMatchObject({ os: "windows" });
    expect(wantedPlatform({ platform: "linux/arm/v7" })).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(wantedPlatform({ platform: "linux/amd64", arch: "arm64" })).toEqual({ os: "linux", architecture: "arm64" });
    expect(wantedPlatform({ platform: "linux/arm64/v8", variant: "v9" })).toEqual({ os: "linux", architecture: "arm64", variant: "v9" });
  });
});

describe("progress on a terminal", () => {
  test("a bar: filled part, head, rest; full when done", () => {
    expect(drawBar(0, 100, 12)).toBe("[>---------]");
    expect(drawBar(50, 100, 12)).toBe("[=====>----]");
    expect(drawBar(100, 100, 12)).toBe("[==========]");
  });

  test("a line: label, bar, bytes, recent speed; it fits the terminal's width", () => {
    let now = 0;
    const meter = new Meter(() => now);
    now = 1000;
    meter.add(3 << 20);
    const item = { label: "d6b744460580", total: 6 << 20, state: "copying" as const, meter };
    const line = renderItem(item, now, 100);
    expect(line).toMatch(/^Copying blob d6b744460580 \[=+>-+\] 3\.0MiB \/ 6\.0MiB \| 3\.0 MiB\/s$/);
    expect(line.length).toBeLessThan(100);
    for (const columns of [80, 60, 50, 30]) expect(renderItem(item, now, columns).length).toBeLessThan(columns);
    // Narrower: the speed goes first, then the bar, then the line is cut.
    expect(renderItem(item, now, 64)).toBe("Copying blob d6b744460580 [=========>---------] 3.0MiB / 6.0MiB");
    expect(renderItem(item, now, 50)).toBe("Copying blob d6b744460580 3.0MiB / 6.0MiB");
    expect(renderItem(item, now, 30)).toBe("Copying blob d6b744460580 3.0");
    expect(renderItem({ ...item, state: "done" }, now, 100)).toBe("Copying blob d6b744460580 done 6.0MiB");
    expect(renderItem({ ...item, state: "exists" }, now, 100)).toBe("Copying blob d6b744460580 skipped: already exists");
  });

  /** Blobs labelled b00, b01, ... in these states, 1 MiB each, half copied where copying. */
  const blobs = (...states: ItemState[]) =>
    states.map((state, n) => {
      const meter = new Meter(() => 0);
      if (state === "copying") meter.add(1 << 19);
      return { label: `b${String(n).padStart(2, "0")}`, total: 1 << 20, state, meter };
    });

  test("a block that fits the terminal: one line per blob, in order", () => {
    const items = blobs("done", "copying", "waiting");
    expect(renderBlock(items, 0, 24, 80)).toEqual(items.map((i) => renderItem(i, 0, 80)));
    expect(renderBlock(items, 0, 4, 80)).toHaveLength(3); // rows - 1 lines fit
  });

  test("more blobs than rows: rows - 1 lines, moving, failed, then waiting ones first (the earliest), then the latest finished, and a count of the rest", () => {
    const items = blobs(...Array<ItemState>(20).fill("done"), "failed", "copying", "copying", "waiting", "exists", "mounted", "waiting", "waiting");
    const lines = renderBlock(items, 0, 8, 80);
    expect(lines).toHaveLength(7);
    expect(lines.slice(0, 6).map((l) => l.split(" ")[2])).toEqual(["b20", "b21", "b22", "b23", "b26", "b27"]);
    expect(lines[0]).toBe("Copying blob b20 failed at 0B / 1.0MiB");
    expect(lines[1]).toMatch(/^Copying blob b21 \[=+>-+\] 512\.0KiB \/ 1\.0MiB$/);
    expect(lines[6]).toBe("+ 22 more blobs: 22 done");
    // One row fewer: the last waiting one is counted instead.
    const shorter = renderBlock(items, 0, 7, 80);
    expect(shorter.slice(0, 5).map((l) => l.split(" ")[2])).toEqual(["b20", "b21", "b22", "b23", "b26"]);
    expect(shorter[5]).toBe("+ 23 more blobs: 1 waiting, 22 done");
    // Two more rows: the latest finished ones join, still in their order.
    const taller = renderBlock(items, 0, 10, 80);
    expect(taller.slice(0, 8).map((l) => l.split(" ")[2])).toEqual(["b20", "b21", "b22", "b23", "b24", "b25", "b26", "b27"]);
    expect(taller[8]).toBe("+ 20 more blobs: 20 done");
    const moving = renderBlock(blobs("done", "copying", "waiting", "copying", "waiting", "done"), 0, 4, 80);
    expect(moving.slice(0, 2).map((l) => l.split(" ")[2])).toEqual(["b01", "b03"]); // moving bars before waiting ones
    expect(moving[2]).toBe("+ 4 more blobs: 2 waiting, 2 done");
  });

  test("the block fits any terminal: never taller than rows - 1, never as wide as the columns", () => {
    const items = blobs(...Array<ItemState>(40).fill("waiting"));
    for (const rows of [2, 3, 5, 24, 41, 42]) {
      const lines = renderBlock(items, 0, rows, 30);
      expect(lines.length).toBe(Math.min(40, rows - 1));
      for (const l of lines) expect(l.length).toBeLessThan(30);
    }
    expect(renderBlock(items, 0, 1, 80)).toEqual(["40 blobs: 40 waiting"]);
    expect(renderBlock(items, 0, 2, 80)).toEqual(["40 blobs: 40 waiting"]);
    expect(renderBlock(items, 0, 3, 80)).toEqual([renderItem(items[0]!, 0, 80), "+ 39 more blobs: 39 waiting"]);
  });

  test("on a terminal shorter than the blob list, each redraw moves up no further than the block it drew", () => {
    let written = "";
    const out = { isTTY: true, rows: 8, columns: 60, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    const progress = new Progress("tty", out, () => 0);
    const bars = Array.from({ length: 30 }, (_, n) => progress.add(`layer${String(n).padStart(2, "0")}`, 1 << 20));
    bars.forEach((bar, n) => {
      bar.bytes(1 << 10);
      if (n % 3) bar.finish("done");
    });
    progress.stop();
    // Each redraw: cursor up over the last block, clear, then the new block.
    const blocks = written.split(/\x1b\[(\d+)A\x1b\[J/);
    let drawnBefore = blocks[0]!.split("\n").length - 1;
    expect(drawnBefore).toBeLessThanOrEqual(7);
    for (let k = 1; k < blocks.length; k += 2) {
      expect(Number(blocks[k])).toBe(drawnBefore);
      drawnBefore = blocks[k + 1]!.split("\n").length - 1;
      expect(drawnBefore).toBeLessThanOrEqual(7);
    }
    const last = blocks[blocks.length - 1]!.replace(/\x1b\[K/g, "").trimEnd().split("\n");
    expect(last).toHaveLength(7);
    // Ten blobs are still moving: the six that started first are shown.
    expect(last.slice(0, 6).map((l) => l.split(" ")[2])).toEqual(["layer00", "layer03", "layer06", "layer09", "layer12", "layer15"]);
    expect(last[0]).toMatch(/^Copying blob layer00 \[>-+\] 1\.0KiB \/ 1\.0MiB$/);
    expect(last[6]).toBe("+ 24 more blobs: 4 copying, 20 done");
  });

  test("the speed is that of the last seconds, not the average since the start", () => {
    let now = 0;
    const meter = new Meter(() => now);
    expect(meter.speed()).toBeUndefined(); // too early to tell
    // 100 MiB in the first second, then 1 MiB a second for ten seconds.
    now = 1000;
    meter.add(100 << 20);
    for (let i = 0; i < 100; i++) {
      now += 100;
      meter.add((1 << 20) / 10);
    }
    expect(meter.speed()! / (1 << 20)).toBeCloseTo(1, 1);
    // Nothing for longer than the window: 0.
    now += 10_000;
    expect(meter.speed()).toBe(0);
  });
});

describe("limits, timeouts, error words", () => {
  test("a compressed layer may unpack to the larger of RL_LAYER_MAX_RATIO times its size and RL_LAYER_MAX_SIZE", () => {
    const cases: [number, Record<string, string>, number][] = [
      [4 << 20, {}, 1 << 30], // a 4 MiB layer: the 1 GiB floor
      [100 << 20, {}, 100 * (100 << 20)], // a 100 MiB layer: 100 times
      [4 << 20, { RL_LAYER_MAX_SIZE: String(8 * 2 ** 30) }, 8 * 2 ** 30],
      [4 << 20, { RL_LAYER_MAX_RATIO: "1000", RL_LAYER_MAX_SIZE: "1" }, 1000 * (4 << 20)],
      [4 << 20, { RL_LAYER_MAX_RATIO: "nonsense", RL_LAYER_MAX_SIZE: "-3" }, 1 << 30],
    ];
    for (const [size, env, limit] of cases) expect(expansionLimit(size, env).limit).toBe(limit);
    expect(expansionError("sha256:x", 4 << 20, {}).message).toBe(
      "layer sha256:x unpacks to more than 1.07 GB from 4.19 MB compressed (the larger of 100 times its size and 1.07 GB): refused as a decompression bomb; RL_LAYER_MAX_SIZE (bytes) and RL_LAYER_MAX_RATIO raise the limit",
    );
  });

  test("xz and bzip2 are recognised by their magic, gzip and zstd are readable", () => {
    expect(unreadableCompression(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toBe("xz");
    expect(unreadableCompression(new TextEncoder().encode("BZh91AY"))).toBe("bzip2");
    expect(unreadableCompression(new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0]))).toBeUndefined();
    expect(unreadableCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0, 0]))).toBeUndefined();
  });

  test("RL_REGISTRY_TIMEOUT in seconds, 30 by default or when it is not a positive number", () => {
    expect(registryTimeoutMs({})).toBe(30_000);
    expect(registryTimeoutMs({ RL_REGISTRY_TIMEOUT: "1.5" })).toBe(1500);
    expect(registryTimeoutMs({ RL_REGISTRY_TIMEOUT: "0" })).toBe(30_000);
    expect(registryTimeoutMs({ RL_REGISTRY_TIMEOUT: "soon" })).toBe(30_000);
  });

  test("a body is read up to its limit: a larger Content-Length is refused unread, a longer body is cut off", async () => {
    const body = (n: number, headers: Record<string, string> = {}) => new Response(new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array(n)), c.close()) }), { headers });
    expect((await readBody(body(10), 10, "x")).length).toBe(10);
    await expect(readBody(body(11), 10, "the manifest")).rejects.toThrow("the manifest is too large: more than the 10B rl accepts");
    await expect(readBody(new Response(new Uint8Array(20), { headers: { "content-length": "20" } }), 10, "the manifest")).rejects.toThrow("the manifest is too large: 20 bytes, more than the 10B rl accepts");
    expect(await readPrefix(new Response("x".repeat(100)), 5)).toBe("xxxxx");
  });

  test("Bun's fetch failures in a user's words; transient ones are retried", () => {
    const bun = (code: string, message: string) => Object.assign(new TypeError(message), { code });
    expect(networkWords(bun("ECONNRESET", "ECONNRESET: The socket connection was closed unexpectedly. For more information, pass `verbose: true` in the second argument to fetch()"))).toBe("the connection was closed unexpectedly");
    expect(networkWords(bun("ConnectionRefused", "Unable to connect. Is the computer able to access the url?"))).toBe("connection refused");
    expect(networkWords(bun("SomethingNew", "SomethingNew: it broke. For more information, pass `verbose: true` in the second argument to fetch()"))).toBe("it broke.");
    expect(isNetworkError(bun("ETIMEDOUT", "x"))).toBe(true);
    expect(isNetworkError(bun("ENOTFOUND", "x"))).toBe(false);
  });

  test("local failures (a full disk, a file size limit) are the store's, not the registry's; others pass", () => {
    const p = { data: "/home/u/.local/share/rl" } as Paths;
    const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
    expect(localFailure(enospc, p)?.message).toBe("writing to the store in /home/u/.local/share/rl failed: no space left on the device (ENOSPC)");
    expect(localFailure(new Error("ENOSPC: no space left on device, write"), p)?.errno).toBe("ENOSPC"); // from the unpacking worker
    expect(localFailure(new Error("registry says no"), p)).toBeUndefined();
    expect(localFailure(Object.assign(new Error("x"), { code: "ECONNRESET" }), p)).toBeUndefined();
  });

  test("--pull and --policy take podman's four policies", () => {
    expect(PULL_POLICIES.map((s) => parsePullPolicy(s))).toEqual(["always", "missing", "never", "newer"]);
    expect(() => parsePullPolicy("sometimes", "--policy")).toThrow('invalid --policy "sometimes": use always, missing, never or newer');
  });

  test("an --authfile that does not exist is refused; none given is fine", () => {
    expect(() => checkAuthFile(join(tmpdir(), "rl-no-such-dir/auth.json"))).toThrow(/given with --authfile does not exist$/);
    expect(() => checkAuthFile(undefined)).not.toThrow();
  });
});
