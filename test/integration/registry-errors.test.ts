import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, RL_BIN, skipReason } from "./harness";
import { expectOneLineError } from "./registry-harness";
import { withHostileRegistry } from "./registry-hostile";

const reason = skipReason();
if (reason) console.log(`skipping error-line tests: ${reason}`);

/** No line of rl may show Bun's or Node's internals, or a temp file of the store. */
function noInternals(stderr: string) {
  expect(stderr).not.toMatch(/verbose: true|JSON Parse error|TypeError|\.tmp\b|\/tmp\/[^ ]*blob-/);
}

describe.skipIf(Boolean(reason))("error lines: what failed, in the user's words", () => {
  const { t, run, store, host } = withHostileRegistry();
  let H = "";
  beforeAll(() => {
    H = host();
  });

  test("load -i /dev/zero is not a tar archive (not 'no such file'); a missing file is", async () => {
    expectOneLineError(await run(["load", "-i", "/dev/zero"]), /^rl: cannot load \/dev\/zero: \/dev\/zero is not a tar archive: it is a character device$/);
    expectOneLineError(await run(["load", "-i", join(t.root, "missing.tar")]), /missing\.tar: no such file$/);
  });

  test("an xz archive is named as such, from a file and from stdin", async () => {
    const tar = join(t.root, "x.tar");
    writeFileSync(tar, "not much of a tar\n");
    const xz = Bun.spawnSync(["xz", "-kf", tar]);
    expect(xz.exitCode).toBe(0);
    expectOneLineError(await run(["load", "-i", `${tar}.xz`]), /x\.tar\.xz is xz-compressed, which rl cannot read .*: decompress it first, e\.g\. xz -dc FILE \| rl load$/);
    const p = Bun.spawn(["sh", "-c", `exec "$0" load < "$1"`, RL_BIN, `${tar}.xz`], { env: t.env, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expectOneLineError({ code, stderr }, /^rl: cannot load stdin: the archive is xz-compressed/);
    expect(store().tmp).toEqual([]);
  });

  test("--authfile naming a file that does not exist is an error for pull, push, run and logout (as podman)", async () => {
    const missing = join(t.root, "nonexistent/auth.json");
    const line = new RegExp(`the credentials file ${missing} given with --authfile does not exist$`);
    expectOneLineError(await run(["pull", "--authfile", missing, `${H}/plain:1`]), line);
    expectOneLineError(await run(["push", "--authfile", missing, "x", `${H}/plain:2`]), line);
    expectOneLineError(await run(["run", "--rm", "--authfile", missing, `${H}/plain:1`, "true"]), line);
    expectOneLineError(await run(["logout", "--authfile", missing, H]), line);
  });

  test("an auth file that is a directory: the file and the reason, no temp file, not blamed on the registry", async () => {
    const dir = join(t.root, "authdir");
    mkdirSync(dir, { recursive: true });
    const pull = await run(["pull", "--tls-verify=false", "--authfile", dir, `${H}/plain:1`]);
    expectOneLineError(pull, new RegExp(`^rl: cannot pull ${H}/plain:1: cannot read credentials from ${dir}: Is a directory \\(EISDIR\\)$`));
    const login = await run(["login", "--tls-verify=false", "-u", "me", "-p", "pw", "--authfile", join(dir, "sub"), H]);
    expect(login.code).toBe(0);
    mkdirSync(join(dir, "isdir"));
    const bad = await run(["login", "--tls-verify=false", "-u", "me", "-p", "pw", "--authfile", join(dir, "isdir"), H]);
    expectOneLineError(bad, /cannot read credentials from .*isdir: Is a directory \(EISDIR\)$/);
    noInternals(bad.stderr);
    expect(readdirSync(dir).sort()).toEqual(["isdir", "sub"]);
  });

  test("a local write failure during a pull (file size limit) names the store, not the registry", async () => {
    await run(["images"]); // the store exists before the limit applies
    const p = Bun.spawn(["bash", "-c", `ulimit -f 2048; exec "$0" pull --tls-verify=false "$1"`, RL_BIN, `${H}/large:1`], { env: t.env, stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expectOneLineError({ code, stderr }, new RegExp(`^rl: cannot pull ${H}/large:1: writing to the store in ${t.env.RL_ROOT} failed: .* \\(EFBIG\\)$`));
    expect(stderr).not.toContain(`${H}: EFBIG`);
    noInternals(stderr);
    expect(store()).toEqual({ images: 0, names: [], tmp: [] });
    const blobs = join(t.env.RL_ROOT!, "blobs/sha256");
    expect(existsSync(blobs) ? readdirSync(blobs) : []).toEqual([]);
  });

  test("rmi -f of the image of a running container ends that run with one line", async () => {
    const id = (await run(["run", "--rm", "-q", ALPINE, "true"])).code === 0 ? (await run(["images", "-q"])).stdout.trim().split("\n")[0]! : "";
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const p = Bun.spawn([RL_BIN, "run", "--rm", id, "sleep", "30"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      for (let i = 0; i < 400 && !(await run(["ps", "-q"])).stdout.trim(); i++) await Bun.sleep(50);
      expect((await run(["rmi", "-f", id])).code).toBe(0);
      const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
      expect(code).toBe(137);
      const lines = stderr.trimEnd().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^rl: container \S+ was removed while it ran \(by rl rmi -f of its image, or rl rm -f\)$/);
    } finally {
      p.kill(9);
      await p.exited;
    }
  });
});
