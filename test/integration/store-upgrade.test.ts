/**
 * A store made by the real rl of a9d9975 (the last one before numbered migrations: its schema's fingerprint
 * in user_version), built here from git, opened by this rl: upgraded in place, every image, container and
 * volume still there and usable; and that older rl can still open the upgraded store, after which this
 * one still can.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../../cli/lib/store/migrations";
import { BUSYBOX, FIXTURES, makeEnv, REPO, rl, skipReason, type RlResult } from "./harness";

const OLD = "a9d9975";
/** What that rl wrote in user_version (test/unit/store-migrations.test.ts derives it from its schema). */
const OLD_FINGERPRINT = 1738697130;

function sh(argv: string[], o: { cwd?: string; env?: Record<string, string> } = {}): RlResult {
  const r = Bun.spawnSync(argv, { cwd: o.cwd, env: o.env ?? (process.env as Record<string, string>), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

// The tree may belong to another user than the test's (a developer's worktree): git only reads it here.
const git = (args: string[]) => sh(["git", "-c", `safe.directory=${REPO}`, "-C", REPO, ...args]);
const reason = skipReason() ?? (git(["cat-file", "-e", `${OLD}^{commit}`]).code !== 0 ? `no git history with commit ${OLD} in ${REPO}` : undefined);
if (reason) console.log(`skipping the store upgrade tests: ${reason}`);

function ok(r: RlResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(Boolean(reason))(`a store made by rl ${OLD}`, () => {
  const t = makeEnv();
  const fresh = makeEnv();
  let tree = "";
  const old = (args: string[]) => sh([process.execPath, join(tree, "cli/rl.ts"), ...args], { env: t.env });
  const r = (args: string[]) => rl(args, { env: t.env });
  const db = () => join(t.env.RL_ROOT!, "rl.db");

  beforeAll(() => {
    tree = mkdtempSync(join(tmpdir(), `rl-${OLD}-`));
    const archive = join(tree, "src.tar");
    ok(git(["archive", "-o", archive, OLD]), "git archive");
    ok(sh(["tar", "-xf", archive, "-C", tree]), "tar");
    // Its dependencies are this tree's when the lock file is the same; else installed (from bun's cache).
    if (readFileSync(join(tree, "bun.lock"), "utf8") === readFileSync(join(REPO, "bun.lock"), "utf8")) symlinkSync(join(REPO, "node_modules"), join(tree, "node_modules"));
    else ok(sh(["bun", "install", "--frozen-lockfile", "--ignore-scripts"], { cwd: tree }), "bun install");
    // Its WASM core and C helpers (not the executable: cli/rl.ts runs the sources).
    ok(sh(["bun", "run", "build:wasm"], { cwd: tree }), "build:wasm");
    ok(sh(["bun", "helpers/c-build.ts"], { cwd: tree }), "c-build");

    ok(old(["load", "-i", `${FIXTURES}/archives/ggcr-hello-world-v25.tar`]), "old rl load");
    const run = old(["run", "--name", "kept", "-v", "vol:/data", BUSYBOX, "sh", "-c", "echo kept > /data/f; exit 3"]);
    expect(run.code).toBe(3);
    const busybox = ok(old(["images", "-q", "--no-trunc"]), "old rl images").split("\n").find((id) => id && !id.includes("ee301c921b8a"))!;
    ok(old(["tag", busybox, "localhost/old:1"]), "old rl tag");
    const d = new Database(db(), { readonly: true });
    expect(d.query("PRAGMA user_version").get()).toEqual({ user_version: OLD_FINGERPRINT });
    d.close();
  }, 180_000);

  afterAll(async () => {
    await t.cleanup();
    await fresh.cleanup();
    if (tree) rmSync(tree, { recursive: true, force: true });
  });

  test("opens upgraded: its images, containers and volumes listed and usable", async () => {
    expect((await r(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout.split("\n").sort()).toEqual(["", "<none>:<none> ee301c921b8a", expect.stringMatching(/^localhost\/old:1 [0-9a-f]{12}$/)]);
    expect(await r(["ps", "-a", "--format", "{{.Names}} {{.Status}}"])).toEqual({ code: 0, stdout: expect.stringMatching(/^kept Exited \(3\) .* ago\n$/), stderr: "" });
    expect((await r(["volume", "ls", "-q"])).stdout).toBe("vol\n");
    const [kept] = JSON.parse((await r(["inspect", "kept"])).stdout);
    // Started before the store recorded starts: its creation time stands for it.
    expect([kept.State.Status, kept.State.ExitCode, kept.State.StartedAt]).toEqual(["exited", 3, kept.Created]);

    expect(await r(["run", "--rm", "-v", "vol:/data", "localhost/old:1", "cat", "/data/f"])).toEqual({ code: 0, stdout: "kept\n", stderr: "" });
    expect((await r(["run", "--name", "new", "localhost/old:1", "true"])).code).toBe(0);
    const [created] = JSON.parse((await r(["inspect", "new"])).stdout);
    const d = new Database(db(), { readonly: true });
    const { started } = d.query("SELECT started FROM containers WHERE name = 'new'").get() as { started: number | null };
    expect(started).not.toBeNull();
    expect(created.State.StartedAt).toBe(new Date(started!).toISOString());
    expect(await r(["rm", "kept"])).toEqual({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: "" });
    expect((await r(["ps", "-a", "--format", "{{.Names}}"])).stdout).toBe("new\n");

    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(d.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    // The same schema as a store this rl makes.
    const schema = (x: Database) => x.query("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").all();
    const upgraded = schema(d);
    d.close();
    ok(await rl(["images"], { env: fresh.env }), "rl images on a new store");
    const f = new Database(join(fresh.env.RL_ROOT!, "rl.db"), { readonly: true });
    expect(upgraded).toEqual(schema(f));
    f.close();
  });

  test("the older rl still opens the upgraded store, and this one after it", async () => {
    expect(old(["ps", "-a", "--format", "{{.Names}}"])).toEqual({ code: 0, stdout: "new\n", stderr: "" });
    // It wrote its fingerprint over the migration number; the store's record of its migrations stays.
    const d = new Database(db(), { readonly: true });
    expect(d.query("PRAGMA user_version").get()).toEqual({ user_version: OLD_FINGERPRINT });
    d.close();
    expect(await r(["ps", "-a", "--format", "{{.Names}}"])).toEqual({ code: 0, stdout: "new\n", stderr: "" });
    expect(await r(["rm", "new"])).toEqual({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/), stderr: "" });
    const after = new Database(db(), { readonly: true });
    expect(after.query("PRAGMA user_version").get()).toEqual({ user_version: MIGRATIONS.length });
    expect(after.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    after.close();
  });
});
