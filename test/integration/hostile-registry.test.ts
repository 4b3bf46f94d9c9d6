import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { RL_BIN, skipReason } from "./harness";
import { expectOneLineError } from "./registry-harness";
import { runMeasured, withHostileRegistry } from "./registry-hostile";

const reason = skipReason();
if (reason) console.log(`skipping hostile registry tests: ${reason}`);

/** rl's peak memory stays well below what reading an endless answer whole would take. */
const PEAK_LIMIT_KIB = 300 << 10;

describe.skipIf(Boolean(reason))("a hostile registry: endless, oversized, stalled, redirecting, lying answers", () => {
  const { t, store, host, seen, storageSeen } = withHostileRegistry();
  let H = "";
  beforeAll(() => {
    H = host();
  });

  const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
  /** Each case: one clear line, exit 125, flat memory, ended by the short timeouts, and nothing left in the store. */
  async function refused(args: string[], pattern: RegExp, env: Record<string, string> = {}) {
    const r = await runMeasured([RL_BIN, ...args], { ...t.env, RL_REGISTRY_TIMEOUT: "1", ...env });
    expectOneLineError(r, pattern);
    expect(r.stderr).not.toContain("verbose: true");
    expect(r.peakKiB).toBeGreaterThan(0);
    expect(r.peakKiB).toBeLessThan(PEAK_LIMIT_KIB);
    expect(store()).toEqual({ images: 0, names: [], tmp: [] });
    expect(ls(join(t.env.RL_ROOT!, "blobs/sha256"))).toEqual([]);
    expect(ls(join(t.env.RL_ROOT!, "layers"))).toEqual([]);
    return r;
  }
  const pull = (name: string) => ["pull", "--tls-verify=false", `${H}/${name}:1`];

  test("the generated image pulls: every scenario breaks one thing only", async () => {
    expect((await runMeasured([RL_BIN, "pull", "-q", "--tls-verify=false", `${H}/plain:1`], t.env)).code).toBe(0);
    expect(store().names).toEqual([`${H}/plain:1`]);
    expect((await runMeasured([RL_BIN, "rmi", `${H}/plain:1`], t.env)).code).toBe(0);
    expect(store()).toEqual({ images: 0, names: [], tmp: [] });
  });

  test("an endless manifest is cut off at 4 MiB", async () => {
    await refused(pull("endless-manifest"), new RegExp(`^rl: cannot pull ${H}/endless-manifest:1: the manifest of endless-manifest:1 from ${H} is too large: more than the 4\\.0MiB rl accepts$`));
  });

  test("a manifest over 4 MiB without Content-Length is cut off; one that declares 100 MiB is refused before reading", async () => {
    await refused(pull("oversized-manifest"), /the manifest of oversized-manifest:1 from .* is too large: more than the 4\.0MiB rl accepts$/);
    await refused(pull("declared-manifest"), /the manifest of declared-manifest:1 from .* is too large: 104857600 bytes, more than the 4\.0MiB rl accepts$/);
  });

  test("an endless error body and an endless token answer are not read whole", async () => {
    await refused(pull("endless-error"), new RegExp(`${H}: \\(HTTP 404\\)$|${H}: Not Found \\(HTTP 404\\)$`));
    await refused(pull("endless-token"), /the answer of the token server 127\.0\.0\.1:\d+ is too large: more than the 1\.0MiB rl accepts$/);
  });

  test("a registry that never answers: retried, then one line naming the registry and the wait", async () => {
    await refused(pull("stall-headers"), new RegExp(`^rl: cannot pull ${H}/stall-headers:1: registry ${H} sent nothing for 1s in answer to the manifest of stall-headers:1 \\(5 attempts\\)$`));
  });

  test("rl run on a registry that never answers ends with the same line", async () => {
    await refused(["run", "--rm", "--tls-verify=false", `${H}/stall-headers:1`, "true"], new RegExp(`^rl: cannot use image ${H}/stall-headers:1: registry ${H} sent nothing for 1s in answer to the manifest`));
  });

  test("a manifest that stops midway", async () => {
    await refused(pull("stall-manifest"), new RegExp(`registry ${H} sent nothing for 1s in the middle of the manifest of stall-manifest:1 \\(5 attempts\\)$`));
  });

  test("a layer that stops midway: resumed while it makes progress, then one line with how far it got", async () => {
    const r = await refused(pull("stall-blob"), new RegExp(`downloading blob sha256:[0-9a-f]{64} failed after \\d+ of \\d+ bytes: registry ${H} sent nothing for 1s in the middle of blob sha256:`));
    expect(seen().filter((s) => s.startsWith("GET /v2/stall-blob/blobs/") && s.includes("bytes=")).length).toBeGreaterThanOrEqual(1);
    expect(r.stderr).not.toMatch(/TypeError|AbortError/);
  });

  test("a layer cut short (Content-Length not met) is resumed, then refused with the bytes it got", async () => {
    await refused(pull("truncated"), /downloading blob sha256:[0-9a-f]{64} failed after \d+ of \d+ bytes: the connection was closed unexpectedly$/);
  });

  test("a layer whose bytes do not match its digest", async () => {
    await refused(pull("wrong-digest"), /does not match its digest/);
  });

  test("redirects to file:, data: and ftp: are refused, not followed; nothing of /etc/passwd is shown", async () => {
    const r = await refused(pull("redirect-file"), new RegExp(`registry ${H} redirected the manifest of redirect-file:1 to file:///etc/passwd: only http and https redirects are followed$`));
    expect(r.stderr).not.toContain("root");
    await refused(pull("redirect-zero"), /redirected blob sha256:[0-9a-f]{64} to file:\/\/\/dev\/zero: only http and https redirects are followed$/);
    await refused(pull("redirect-data"), /redirected the manifest of redirect-data:1 to data:application\/json,\{\}: only http and https redirects are followed$/);
    await refused(pull("redirect-ftp"), /to ftp:\/\/127\.0\.0\.1\/manifest: only http and https redirects are followed$/);
  });

  test("a blob redirected to storage on another host is followed, without the registry's credentials", async () => {
    const r = await runMeasured([RL_BIN, "pull", "-q", "--tls-verify=false", "--creds", "me:secret", `${H}/redirect-storage:1`], t.env);
    expect(r).toMatchObject({ code: 0 });
    expect(seen().some((s) => s.startsWith("GET /v2/redirect-storage/blobs/"))).toBe(true);
    expect(storageSeen().length).toBeGreaterThanOrEqual(2); // the config and the layer
    expect(storageSeen().every((s) => s.endsWith(" none"))).toBe(true);
    expect((await runMeasured([RL_BIN, "rmi", `${H}/redirect-storage:1`], t.env)).code).toBe(0);
  });

  test("a redirect loop ends after 10 hops", async () => {
    await refused(pull("redirect-loop"), new RegExp(`registry ${H} redirected the manifest of redirect-loop:1 more than 10 times`));
    expect(seen().filter((s) => s.startsWith("GET /v2/redirect-loop/manifests/1")).length).toBe(11);
  });

  test("a gzip layer that inflates far past its size is stopped early as a decompression bomb", async () => {
    await refused(pull("bomb"), /layer sha256:[0-9a-f]{64} unpacks to more than 8\.39 MB from \d+(\.\d+)? kB compressed \(the larger of 100 times its size and 8\.39 MB\): refused as a decompression bomb/, {
      RL_LAYER_MAX_SIZE: String(8 << 20),
    });
  });

  test("401 without a challenge, and a manifest that is not JSON", async () => {
    await refused(pull("unauthorized"), new RegExp(`registry ${H} answered 401 Unauthorized without saying how to authenticate \\(no WWW-Authenticate header\\)$`));
    const r = await refused(pull("garbage"), new RegExp(`the manifest of garbage:1 from ${H} is not valid JSON`));
    expect(r.stderr).not.toContain("JSON Parse error");
  });
});
