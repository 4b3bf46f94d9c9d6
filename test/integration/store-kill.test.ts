import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, openSync, readdirSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { chainIds } from "../../cli/lib/image/digest";
import { makeEnv, rl, RL_BIN, skipReason, type TestEnv } from "./harness";
import { ociArchive, sha256, tar } from "./hostile-inputs";

// kill -9 of the commands that delete (rmi, prune, system reset) at the moment their deletion is under
// way, and a store whose database is corrupt.

const reason = skipReason();
/** The names in `dir`; none when it is not there (or goes while it is read: rl is deleting it). */
const ls = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
};
const FILES = 6000;

/** An unnamed one-layer image of FILES empty files in /data: its archive, and where its files are once stored. */
function manyFiles(e: TestEnv): { archive: string; files: string } {
  const layer = tar(Array.from({ length: FILES }, (_, i) => ({ name: `data/f${i}`, body: "" })));
  const archive = ociArchive(join(e.root, "many.tar"), { layers: [{ tar: layer }] }).slice("oci-archive:".length);
  return { archive, files: join(e.env.RL_ROOT!, "layers", chainIds([sha256(layer)])[0]!.slice(7), "data") };
}

/**
 * Start `rl ARGS` and SIGKILL it as soon as `deleting()` says its deletion has begun (polled as fast as the
 * event loop allows). Returns whether the kill came before rl ended by itself.
 */
async function killWhen(env: Record<string, string>, args: string[], deleting: () => boolean): Promise<boolean> {
  const p = Bun.spawn([RL_BIN, ...args], { env, stdout: "ignore", stderr: "ignore" });
  while (p.exitCode === null && !deleting()) await Bun.sleep(0);
  const killed = p.exitCode === null;
  p.kill("SIGKILL");
  await p.exited;
  return killed;
}

/**
 * Load the image, then run `args(its id)` and kill it once the layer's files start to go (or the layer
 * left layers/ whole). Whether the kill came before rl ended.
 */
async function loadThenKill(e: TestEnv, m: { archive: string; files: string }, args: (id: string) => string[]): Promise<boolean> {
  expect(await rl(["load", "-i", m.archive], { env: e.env })).toMatchObject({ code: 0 });
  expect(ls(m.files).length).toBe(FILES);
  const id = JSON.parse((await rl(["images", "--format", "json"], { env: e.env })).stdout)[0].Id;
  return killWhen(e.env, args(id), () => ls(m.files).length < FILES);
}

describe.skipIf(Boolean(reason))("kill -9 while deleting", () => {
  const envs: TestEnv[] = [];
  const fresh = () => {
    const e = makeEnv();
    envs.push(e);
    return e;
  };
  afterAll(async () => {
    for (const e of envs) await e.cleanup();
  }, 300_000);

  test("a killed rmi leaves no half-deleted layer that a later load reuses", async () => {
    const e = fresh();
    const data = e.env.RL_ROOT!;
    const { archive, files } = manyFiles(e);
    let killed = 0;
    for (let trial = 0; trial < 3; trial++) if (await loadThenKill(e, { archive, files }, (id) => ["rmi", id])) killed++;
    expect(killed).toBeGreaterThan(0);
    // The next load unpacks the layer again, whole.
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
    expect(ls(files).length).toBe(FILES);
    expect(ls(join(data, "tmp"))).toEqual([]);
  }, 300_000);

  test("a layer whose root belongs to a subordinate id is deleted too (it moves to tmp/ from inside the user namespace)", async () => {
    const e = fresh();
    const data = e.env.RL_ROOT!;
    const layer = tar([{ name: "./", type: "dir", uid: 42, gid: 42, mode: 0o755 }, { name: "./f", body: "x", uid: 42, gid: 42 }]);
    const archive = ociArchive(join(e.root, "owned.tar"), { layers: [{ tar: layer }] }).slice("oci-archive:".length);
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
    expect(ls(join(data, "layers")).length).toBe(1);
    const id = JSON.parse((await rl(["images", "--format", "json"], { env: e.env })).stdout)[0].Id;
    expect(await rl(["rmi", id], { env: e.env })).toMatchObject({ code: 0, stderr: "" });
    expect(ls(join(data, "layers"))).toEqual([]);
    expect(ls(join(data, "tmp"))).toEqual([]);
  }, 300_000);

  test("an rmi killed after deleting its image: the next command deletes the layers and blobs", async () => {
    const e = fresh();
    const data = e.env.RL_ROOT!;
    const { archive } = manyFiles(e);
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
    const id = JSON.parse((await rl(["images", "--format", "json"], { env: e.env })).stdout)[0].Id;
    const hook = join(e.root, "before-collect");
    const p = Bun.spawn([RL_BIN, "rmi", id], { env: { ...e.env, RL_TEST_PAUSE_BEFORE_COLLECT: hook }, stdout: "ignore", stderr: "ignore" });
    while (!existsSync(hook) && p.exitCode === null) await Bun.sleep(10);
    expect({ paused: existsSync(hook), exit: p.exitCode }).toEqual({ paused: true, exit: null });
    p.kill("SIGKILL");
    await p.exited;
    expect(ls(join(data, "layers")).length).toBe(1);
    expect(await rl(["images", "-q"], { env: e.env })).toMatchObject({ code: 0, stdout: "" });
    expect(ls(join(data, "layers"))).toEqual([]);
    expect(ls(join(data, "blobs/sha256"))).toEqual([]);
    expect(ls(join(data, "tmp"))).toEqual([]);
  }, 300_000);

  test("a killed system reset leaves the old store or nothing", async () => {
    const e = fresh();
    const data = e.env.RL_ROOT!;
    const { archive, files } = manyFiles(e);
    let killed = 0;
    for (let trial = 0; trial < 3; trial++) {
      if (await loadThenKill(e, { archive, files }, () => ["system", "reset", "-f"])) killed++;
      const images = await rl(["images", "-q"], { env: e.env });
      expect(images.code).toBe(0);
      // Nothing, or an image whose layer is whole.
      if (images.stdout) expect(ls(files).length).toBe(FILES);
      else expect(ls(join(data, "layers"))).toEqual([]);
      expect(ls(join(data, "tmp"))).toEqual([]);
      expect(ls(e.root).filter((n) => n.includes("trash"))).toEqual([]);
    }
    expect(killed).toBeGreaterThan(0);
  }, 300_000);

  test("a reset killed after taking the store away: the next command deletes the rest", async () => {
    const e = fresh();
    const { archive } = manyFiles(e);
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
    const hook = join(e.root, "before-remove");
    const p = Bun.spawn([RL_BIN, "system", "reset", "-f"], { env: { ...e.env, RL_TEST_PAUSE_BEFORE_RESET_REMOVE: hook }, stdout: "ignore", stderr: "ignore" });
    while (!existsSync(hook) && p.exitCode === null) await Bun.sleep(10);
    expect({ paused: existsSync(hook), exit: p.exitCode }).toEqual({ paused: true, exit: null });
    p.kill("SIGKILL");
    await p.exited;
    expect(await rl(["images", "-q"], { env: e.env })).toMatchObject({ code: 0, stdout: "" });
    expect(ls(e.root).filter((n) => n !== "before-remove").sort()).toEqual(["data", "many.tar", "run"]);
    expect(ls(join(e.env.RL_ROOT!, "tmp"))).toEqual([]);
    expect(ls(join(e.env.RL_ROOT!, "layers"))).toEqual([]);
  }, 300_000);

  test("a store whose database is corrupt: commands say so and name the fix; system reset -f recovers", async () => {
    const e = fresh();
    const { archive } = manyFiles(e);
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
    // Everything in the database file (the log checkpointed into it), then its header overwritten.
    const db = new Database(join(e.env.RL_ROOT!, "rl.db"));
    db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
    db.close();
    const fd = openSync(join(e.env.RL_ROOT!, "rl.db"), "r+");
    writeSync(fd, new TextEncoder().encode("this is no SQLite database at all"), 0, 32, 0);
    closeSync(fd);
    for (const args of [["images"], ["ps", "-a"], ["rmi", "x"], ["run", "--rm", "x", "true"]]) {
      const r = await rl(args, { env: e.env });
      expect({ args, code: r.code }).toEqual({ args, code: 125 });
      expect(r.stderr).toMatch(/^rl: .*database .* is corrupt .*rl system reset -f recovers[^\n]*\n$/);
    }
    const reset = await rl(["system", "reset", "-f"], { env: e.env });
    expect(reset).toMatchObject({ code: 0 });
    expect(await rl(["images", "-q"], { env: e.env })).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(await rl(["load", "-i", archive], { env: e.env })).toMatchObject({ code: 0 });
  }, 300_000);
});
