import { afterEach, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeDb, openDb } from "../../cli/lib/store/db";
import { MIGRATIONS, type Migration } from "../../cli/lib/store/migrations";

/**
 * The SCHEMA of cli/lib/store/db.ts at a9d9975, the last rl before numbered migrations, byte for byte
 * (its crc32 is the fingerprint that rl wrote in user_version: checked below). Stores made by that rl
 * have exactly these tables; migration 1 must never drift from them.
 */
const OLD_SCHEMA = readFileSync(join(import.meta.dir, "fixtures/schema-a9d9975.sql"), "utf8");
/** The user_version a9d9975 wrote: crc32 of its SCHEMA (test/integration/store-upgrade.test.ts reads it from a store the real one made). */
const OLD_FINGERPRINT = 1738697130;
const MAIN = join(import.meta.dir, "../../cli/main.ts");
const LATEST = MIGRATIONS.length;

const dirs: string[] = [];
afterEach(() => {
  closeDb();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A store directory (RL_ROOT) and its database's path. */
function tempStore(): { root: string; db: string } {
  const root = mkdtempSync(join(tmpdir(), "rl-migrations-"));
  dirs.push(root);
  mkdirSync(join(root, "data"));
  return { root, db: join(root, "data/rl.db") };
}

/** A database as rl at a9d9975 left it: its schema, its fingerprint, WAL, and an image, a container, a volume. */
function oldStore(path: string, o: { userVersion?: number; drop?: string[] } = {}): void {
  const d = new Database(path, { create: true, strict: true });
  d.exec("PRAGMA journal_mode = WAL");
  d.exec(OLD_SCHEMA);
  for (const t of o.drop ?? []) d.exec(`DROP TABLE ${t}`);
  d.exec(`PRAGMA user_version = ${o.userVersion ?? OLD_FINGERPRINT}`);
  d.query("INSERT INTO images (id, manifest_digest, manifest, config, layers, created) VALUES ('sha256:aa', 'sha256:bb', '{}', '{}', '[]', 1)").run();
  d.query("INSERT INTO image_names (name, image_id) VALUES ('localhost/old:1', 'sha256:aa')").run();
  d.query(
    "INSERT INTO containers (id, name, image_id, image_name, command, driver, state, pid, pid_start, exit_code, auto_remove, created, finished) VALUES ('c0ffee', 'kept', 'sha256:aa', 'localhost/old:1', '[\"true\"]', 'overlay', 'exited', NULL, NULL, 3, 0, 1000, 2000)",
  ).run();
  if (!o.drop?.includes("volumes")) d.query("INSERT INTO volumes (name, driver, labels, options, anonymous, filled, created) VALUES ('vol', 'local', '{}', '{}', 0, 1, 1)").run();
  d.close();
}

const schemaOf = (d: Database) =>
  d.query("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name != 'schema_migrations' ORDER BY name").all();
const userVersion = (d: Database) => (d.query("PRAGMA user_version").get() as { user_version: number }).user_version;
const recorded = (d: Database) => (d.query("SELECT version FROM schema_migrations ORDER BY version").all() as { version: number }[]).map((r) => r.version);
const columnsOf = (d: Database, table: string) => (d.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((r) => r.name);
const steps = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

function rl(args: string[], root: string, env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, RL_ROOT: join(root, "data"), RL_RUNROOT: join(root, "run"), ...env },
  });
}

async function output(p: ReturnType<typeof rl>) {
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

describe("store migrations", () => {
  test("the fixture is a9d9975's schema to the byte: its crc32 is the fingerprint that rl wrote", () => {
    expect(Bun.hash.crc32(OLD_SCHEMA) & 0x7fffffff).toBe(OLD_FINGERPRINT);
  });

  test("migration 1 makes exactly the tables of a store made by a9d9975", () => {
    const s = tempStore();
    const old = new Database(":memory:");
    old.exec(OLD_SCHEMA);
    const d = openDb(s.db, MIGRATIONS.slice(0, 1));
    expect(schemaOf(d)).toEqual(schemaOf(old));
    expect(userVersion(d)).toBe(1);
  });

  test("(a) a store made by a9d9975 opens upgraded in place: its rows kept, the same schema as a new store's", () => {
    const fresh = tempStore();
    const s = tempStore();
    oldStore(s.db);
    const d = openDb(s.db);
    expect(userVersion(d)).toBe(LATEST);
    expect(recorded(d)).toEqual(steps(LATEST));
    expect(d.query("SELECT name, image_id FROM image_names").all()).toEqual([{ name: "localhost/old:1", image_id: "sha256:aa" }]);
    expect(d.query("SELECT id, name, state, exit_code, finished, started, monitor_pid, monitor_start, config FROM containers").all()).toEqual([
      { id: "c0ffee", name: "kept", state: "exited", exit_code: 3, finished: 2000, started: null, monitor_pid: null, monitor_start: null, config: null },
    ]);
    expect(d.query("SELECT name FROM volumes").all()).toEqual([{ name: "vol" }]);
    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    const upgraded = schemaOf(d);
    closeDb();
    expect(schemaOf(openDb(fresh.db))).toEqual(upgraded);
  });

  test("a store of an older rl still (user_version 0, tables missing) gets them", () => {
    const s = tempStore();
    oldStore(s.db, { userVersion: 0, drop: ["container_cgroups", "container_volumes", "volumes", "pending_writes"] });
    const d = openDb(s.db);
    expect(columnsOf(d, "volumes")).toContain("filled");
    expect(columnsOf(d, "container_cgroups")).toContain("oom_killed");
    expect(columnsOf(d, "containers")).toContain("monitor_pid");
    expect(d.query("SELECT name FROM containers").all()).toEqual([{ name: "kept" }]);
    expect(recorded(d)).toEqual(steps(LATEST));
  });

  test("(b) a new store gets every migration; opening it again writes nothing", () => {
    const s = tempStore();
    const d = openDb(s.db);
    expect(userVersion(d)).toBe(LATEST);
    expect(recorded(d)).toEqual(steps(LATEST));
    expect(columnsOf(d, "containers")).toEqual(expect.arrayContaining(["started", "monitor_pid", "monitor_start", "config"]));
    closeDb();
    // The log keeps every commit (closeDb empties it only past 512 KiB): a write would grow it.
    const before = statSync(`${s.db}-wal`);
    openDb(s.db);
    closeDb();
    const after = statSync(`${s.db}-wal`);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
  });

  test("(c) a store of a newer rl is refused with one line, exit 125, and left as it is", async () => {
    const s = tempStore();
    const d = openDb(s.db);
    // As a newer rl would leave it: one more migration recorded.
    d.exec(`INSERT INTO schema_migrations (version, applied) VALUES (${LATEST + 1}, 1); PRAGMA user_version = ${LATEST + 1}`);
    closeDb();
    const want = `rl: the store at ${join(s.root, "data")} was made by a newer rl (schema ${LATEST + 1}, this rl knows ${LATEST}): use that rl or a newer one, or another store (RL_ROOT)\n`;
    const r = await output(rl(["images"], s.root));
    expect(r).toEqual({ code: 125, stdout: "", stderr: want });
    // Also after an rl from before numbered migrations opened it (it writes its fingerprint over the number).
    const raw = new Database(s.db);
    expect(userVersion(raw)).toBe(LATEST + 1);
    raw.exec(`PRAGMA user_version = ${OLD_FINGERPRINT}`);
    raw.close();
    expect(await output(rl(["ps", "-a"], s.root))).toEqual({ code: 125, stdout: "", stderr: want });
    const after = new Database(s.db);
    expect([userVersion(after), recorded(after)]).toEqual([OLD_FINGERPRINT, [...steps(LATEST), LATEST + 1]]);
    after.close();
  });

  test("(d) 10 rl processes opening an old store at once: all succeed, one upgrades it, integrity ok", async () => {
    const s = tempStore();
    oldStore(s.db);
    const runs = await Promise.all(Array.from({ length: 10 }, () => output(rl(["ps", "-a", "--format", "{{.Names}} {{.Status}}"], s.root, { RL_DEBUG: "1" }))));
    for (const r of runs) expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: expect.stringMatching(/^kept Exited \(3\)/) });
    expect(runs.filter((r) => r.stderr.includes(`store: upgraded ${s.db} from schema 0 to ${LATEST}`)).length).toBe(1);
    const d = new Database(s.db);
    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect([userVersion(d), recorded(d)]).toEqual([LATEST, steps(LATEST)]);
    d.close();
  });

  test("(e) a failed migration leaves the store as it was, and usable", () => {
    const s = tempStore();
    oldStore(s.db);
    const broken: Migration[] = [
      ...MIGRATIONS,
      { what: "a good step", sql: "CREATE TABLE later (x INTEGER);" },
      { what: "a bad step", sql: "ALTER TABLE containers ADD COLUMN y INTEGER; CREATE TABLE broken (;" },
    ];
    expect(() => openDb(s.db, broken)).toThrow(
      new RegExp(`^cannot upgrade the store ${join(s.root, "data")} to schema ${LATEST + 2}: migration ${LATEST + 2} \\(a bad step\\) failed: .*syntax error`),
    );
    const raw = new Database(s.db);
    expect(userVersion(raw)).toBe(OLD_FINGERPRINT);
    const old = new Database(":memory:");
    old.exec(OLD_SCHEMA);
    expect(schemaOf(raw)).toEqual(schemaOf(old));
    expect(raw.query("SELECT name FROM sqlite_master WHERE name = 'schema_migrations'").get()).toBeNull();
    raw.close();
    const d = openDb(s.db);
    expect(recorded(d)).toEqual(steps(LATEST));
    expect(d.query("SELECT name, exit_code FROM containers").all()).toEqual([{ name: "kept", exit_code: 3 }]);
    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  });
});
