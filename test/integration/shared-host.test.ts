/**
 * A second local user on the same host: what they can plant in shared places (/tmp, a runtime dir they
 * made, a world-writable directory) must make rl refuse with one line, never make it read or write
 * through what they planted. The test user cannot become another user: directories owned by root or
 * made world-writable by the test stand in for the attacker's, and .ci/run adds one owned by a real
 * second user (RL_TEST_FOREIGN_DIR, made by its attacker step).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, makeEnv, RL_BIN, rl, skipReason } from "./harness";
import { ownDirectory } from "../../cli/lib/runtime-dir";
import { atomicWriteFile } from "../../cli/lib/atomic-write";

const reason = skipReason();
if (reason) console.log(`skipping shared-host tests: ${reason}`);
const uid = process.getuid!();

describe.skipIf(Boolean(reason))("a second local user", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  /** rl's environment with the runtime dir chosen by `runtime` (the harness's RL_RUNROOT dropped). */
  const envWith = (runtime: Record<string, string>) => {
    const { RL_RUNROOT: _, XDG_RUNTIME_DIR: __, ...rest } = t.env;
    return { ...rest, ...runtime };
  };
  const refusedLine = (dir: string, what: string, why: string) => new RegExp(`^rl: cannot use ${dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} as ${what}: ${why}[^\n]*; set XDG_RUNTIME_DIR or RL_RUNROOT to a directory only you can write\n$`);

  test("a runtime dir owned by root (not the user) is refused: one line, exit 125, nothing written there", async () => {
    const had = existsSync("/var/tmp/rl");
    const r = await rl(["run", "--rm", ALPINE, "true"], { env: envWith({ XDG_RUNTIME_DIR: "/var/tmp" }) });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(refusedLine("/var/tmp", "XDG_RUNTIME_DIR", "it belongs to uid 0, not to you"));
    expect(existsSync("/var/tmp/rl")).toBe(had);
  });

  test("a runtime dir another local user made (world-writable) is refused: one line, exit 125, nothing written there", async () => {
    const foreign = process.env.RL_TEST_FOREIGN_DIR;
    // .ci/run makes it as its second user; without it (a developer's run) this case cannot be built.
    if (!foreign) {
      if (process.env.CI === "true") throw new Error("RL_TEST_FOREIGN_DIR is not set: .ci/run's attacker step did not run");
      console.log("skipping: no RL_TEST_FOREIGN_DIR (a directory of another user; .ci/run makes one)");
      return;
    }
    const before = readdirSync(foreign);
    for (const env of [{ XDG_RUNTIME_DIR: foreign }, { RL_RUNROOT: foreign }] as Record<string, string>[]) {
      const r = await rl(["run", "--rm", ALPINE, "true"], { env: envWith(env) });
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(refusedLine(foreign, env.RL_RUNROOT ? "RL_RUNROOT" : "XDG_RUNTIME_DIR", `it belongs to uid \\d+, not to you \\(uid ${uid}\\)`));
    }
    expect(readdirSync(foreign)).toEqual(before);
  });

  test("a world-writable runtime dir holding a planted rl -> victim link: refused, the victim dir stays empty", async () => {
    const shared = join(t.root, "shared-run");
    const victim = join(t.root, "victim");
    mkdirSync(shared);
    mkdirSync(victim);
    chmodSync(shared, 0o777);
    symlinkSync(victim, join(shared, "rl"));
    const r = await rl(["run", "--rm", "-e", "PASSWORD=secret", ALPINE, "true"], { env: envWith({ XDG_RUNTIME_DIR: shared }) });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(refusedLine(shared, "XDG_RUNTIME_DIR", "other users can write in it \\(mode 0777\\)"));
    expect(readdirSync(victim)).toEqual([]);
  });

  test("a runtime dir of the user's under a world-writable, non-sticky directory is refused (its name could be swapped)", async () => {
    const open = join(t.root, "open");
    mkdirSync(join(open, "mine"), { recursive: true, mode: 0o700 });
    chmodSync(open, 0o777);
    const r = await rl(["run", "--rm", ALPINE, "true"], { env: envWith({ RL_RUNROOT: join(open, "mine") }) });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(refusedLine(join(open, "mine"), "RL_RUNROOT", `${open} above it: other users can write in it \\(mode 0777\\)`));
  });

  test("the /tmp fallback refuses a link planted in its place, even to a directory of the user's", () => {
    const dir = join(t.root, "fallback");
    mkdirSync(join(dir, "target"), { recursive: true });
    symlinkSync(join(dir, "target"), join(dir, `rl-run-${uid}`));
    expect(() => ownDirectory(join(dir, `rl-run-${uid}`), "the runtime directory", "refuse")).toThrow("it is a symbolic link, which rl did not make");
    // Made by rl itself: created 0700 and accepted.
    expect(ownDirectory(join(dir, "made"), "the runtime directory", "refuse")).toBe(join(dir, "made"));
  });

  test("runtime files are replaced, never written through a link in their place", () => {
    const dir = join(t.root, "files");
    mkdirSync(dir);
    writeFileSync(join(dir, "victim"), "precious\n");
    symlinkSync(join(dir, "victim"), join(dir, "config.json"));
    atomicWriteFile(join(dir, "config.json"), "{}");
    expect(readFileSync(join(dir, "victim"), "utf8")).toBe("precious\n");
    expect(readFileSync(join(dir, "config.json"), "utf8")).toBe("{}");
  });

  test("rl system reset puts no job file in /tmp (another user could plant its name)", async () => {
    // A container leaves files of subordinate ids: reset removes them through a job in a user namespace.
    expect((await rl(["run", "--name", "left", ALPINE, "true"], { env: t.env })).code).toBe(0);
    const seen: string[] = [];
    const w = watch("/tmp", (_, name) => name && seen.push(String(name)));
    try {
      const p = Bun.spawn([RL_BIN, "system", "reset", "-f"], { env: t.env, stdout: "pipe", stderr: "pipe" });
      const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
      expect({ code, err }).toEqual({ code: 0, err: "" });
      await Bun.sleep(100); // inotify events are read asynchronously
      // Its job files were named after its pid (rl-reset-PID-MS.json); other tests' files may come and go.
      expect(seen.filter((n) => new RegExp(`\\b${p.pid}\\b`).test(n))).toEqual([]);
    } finally {
      w.close();
    }
    expect(existsSync(join(t.env.RL_ROOT!, "tmp"))).toBe(false);
  });
});
