import { constants, Database } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RlError } from "../errors";
import { debug } from "../log";
import { prebuiltExtension } from "../sys/compile-c";
import { MIGRATIONS, type Migration } from "./migrations";

/** The connections this process opened, closed before it exits (closeDb). No handle is shared: each
 * command opens the store once (engine/session.ts) and passes it down. */
const opened = new Set<Database>();

/**
 * The metadata database (WAL, so several rl processes can read while one writes), its schema brought up
 * to `migrations` (tests pass their own).
 */
export function openDb(path: string, migrations: readonly Migration[] = MIGRATIONS): Database {
  const timeoutMs = Number(process.env.RL_LOCK_TIMEOUT_MS ?? 20000);
  // Switching a new database to WAL answers SQLITE_BUSY at once, without waiting for busy_timeout, when
  // another process does the same: every step is idempotent, so the whole set-up is retried.
  for (let wait = 2, deadline = Date.now() + timeoutMs; ; wait = Math.min(wait * 2, 100)) {
    let d: Database | undefined;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      d = new Database(path, { create: true, strict: true });
      d.exec(`PRAGMA busy_timeout = ${timeoutMs}`);
      d.exec("PRAGMA journal_mode = WAL");
      // Keep the WAL and its index when the last connection closes: not deleting and re-creating them
      // saves about a millisecond of every command. A checkpoint leaves the WAL at most 4 MiB.
      d.fileControl(constants.SQLITE_FCNTL_PERSIST_WAL, 1);
      d.exec("PRAGMA journal_size_limit = 4194304");
      // Each commit syncs the log: what a command stored is on disk when it returns (the close does
      // not checkpoint any more). A container's own records opt out (see transaction).
      d.exec("PRAGMA synchronous = FULL");
      skipCloseCheckpoint(d);
      d.exec("PRAGMA foreign_keys = ON");
      upgradeStore(d, path, migrations);
      opened.add(d);
      debug(`store: opened ${path}`);
      keepReserve(dirname(path));
      return d;
    } catch (err) {
      d?.close();
      if (err instanceof RlError) throw err;
      if (!isBusy(err) || Date.now() >= deadline) throw storeError(err, path);
    }
    Bun.sleepSync(wait);
  }
}

/**
 * Which migrations a store has: one row each, written in the transaction that applies it. user_version
 * says the same (the last one's number) and is what start-up reads, but an rl from before numbered
 * migrations that opens the store overwrites it with its schema's fingerprint; it never touches this table.
 */
const MIGRATION_RECORD = "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)";

/**
 * Apply the migrations the store lacks, all in one write-locking transaction (rl processes opening an
 * old store at once: the first upgrades it, the others find it done). A store at the last one costs a
 * PRAGMA read and no DDL: that is every command's start. A store of a newer rl is refused, never used;
 * a failed migration leaves the store as it was.
 *
 * A store without the record was made by an rl before numbered migrations: its user_version is 0 or the
 * fingerprint (crc32) of that rl's schema, which changed with each table added; migration 1 is that
 * schema as CREATE ... IF NOT EXISTS, so it applies to any of them, and to a new store. (Not one known
 * fingerprint: there were seven, and an older rl rewrites it after a newer one upgraded the store.)
 */
export function upgradeStore(d: Database, path: string, migrations: readonly Migration[]): void {
  const latest = migrations.length;
  if (userVersion(d) === latest) return;
  // Refusing needs no write lock: an older rl must not wait for, or block, the newer one's commands.
  refuseNewer(path, recordedMigration(d), latest);
  let from = 0;
  transaction(d, path, () => {
    from = recordedMigration(d);
    refuseNewer(path, from, latest);
    d.exec(MIGRATION_RECORD);
    const record = d.query("INSERT INTO schema_migrations (version, applied) VALUES (?, ?)");
    for (let n = from + 1; n <= latest; n++) {
      try {
        d.exec(migrations[n - 1]!.sql);
      } catch (err) {
        if (isBusy(err) || isDiskFull(err)) throw err;
        throw new RlError(`cannot upgrade the store ${dirname(path)} to schema ${latest}: migration ${n} (${migrations[n - 1]!.what}) failed: ${(err as Error).message}`);
      }
      record.run(n, Date.now());
    }
    d.exec(`PRAGMA user_version = ${latest}`);
  });
  if (from < latest) debug(`store: upgraded ${path} from schema ${from} to ${latest}`);
}

function userVersion(d: Database): number {
  return (d.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** The number of the store's last migration, 0 for a new store or one made before numbered migrations. */
function recordedMigration(d: Database): number {
  if (!d.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get()) return 0;
  return (d.query("SELECT max(version) AS n FROM schema_migrations").get() as { n: number | null }).n ?? 0;
}

function refuseNewer(path: string, recorded: number, latest: number): void {
  if (recorded <= latest) return;
  throw new RlError(`the store at ${dirname(path)} was made by a newer rl (schema ${recorded}, this rl knows ${latest}): use that rl or a newer one, or another store (RL_ROOT)`);
}

/** The log's size past which the command that finds it so checkpoints and empties it as it ends. */
const LOG_LIMIT = 512 * 1024;

/**
 * Whether this process's connection skips the checkpoint at close (see helpers/sqlite-no-checkpoint.c):
 * then closeDb checkpoints only a log past LOG_LIMIT. Not SQLite's wal_autocheckpoint: a log that the
 * next process reads back counts as not checkpointed yet, so it would be checkpointed again at each
 * commit and never start over; emptying it is what keeps it small and cheap to read back (~0.45 ms per
 * MiB here).
 */
let lightClose = false;

function skipCloseCheckpoint(d: Database): void {
  const r = loadNoCheckpoint(d);
  if ("why" in r) debug(`store: ${r.why}`);
  else lightClose = true;
}

/** Load the extension into `d`: its path when done, else why not. */
function loadNoCheckpoint(d: Database): { loaded: string } | { why: string } {
  const extension = prebuiltExtension("sqlite-no-checkpoint.c");
  if (!extension) return { why: process.env.RL_TINYCC ? "RL_TINYCC is set" : "no SQLite extension: bun install builds it when the host has a C compiler" };
  try {
    d.loadExtension(extension, "sqlite3_rlstore_init");
    return { loaded: extension };
  } catch (err) {
    return { why: `${extension} did not load: ${(err as Error).message}` };
  }
}

/** How the store's log is checkpointed here (rl info), tried on a database in memory. */
export function storeLogMode(): string {
  const d = new Database(":memory:");
  try {
    const r = loadNoCheckpoint(d);
    return "why" in r ? `checkpointed at each command's end (${r.why})` : `checkpointed once past ${LOG_LIMIT / 1024} KiB (${r.loaded})`;
  } finally {
    d.close();
  }
}

function isBusy(err: unknown): boolean {
  return /database is locked|SQLITE_BUSY/i.test((err as Error).message ?? String(err));
}

/**
 * Close the database: rl does so before it exits (Bun closes a database left open at exit with a
 * checkpoint, whatever the connection was told), and before system reset removes its files.
 */
export function closeDb(): void {
  for (const db of opened) {
    if (lightClose && logSize(db) > LOG_LIMIT) {
      try {
        // Only when no other process uses the log now (no wait): else a later command does it.
        db.exec("PRAGMA busy_timeout = 0");
        db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
      } catch (err) {
        debug(`store: log not checkpointed (${(err as Error).message})`);
      }
    }
    db.close();
  }
  opened.clear();
}

function logSize(db: Database): number {
  try {
    return statSync(`${db.filename}-wal`).size;
  } catch {
    return 0;
  }
}

/** SQLite's errors in words users understand. */
export function storeError(err: unknown, path: string): RlError {
  const msg = (err as Error).message ?? String(err);
  if (isBusy(err)) {
    return new RlError(`the store ${dirname(path)} is locked by another rl process; try again when it is done`);
  }
  if (/file is not a database|malformed|SQLITE_NOTADB|SQLITE_CORRUPT/i.test(msg)) {
    return new RlError(`the store's database ${path} is corrupt (${msg}): rl system reset -f recovers, removing every image and container`);
  }
  if (isDiskFull(err)) {
    return new RlError(`the disk holding the store ${dirname(path)} is full: free space (rl rm, rl rmi, rl image prune) and try again`);
  }
  if (/readonly|permission denied|unable to open|EACCES|EROFS/i.test(msg)) {
    return new RlError(`the store ${dirname(path)} is not writable: ${msg}`);
  }
  return new RlError(`store ${path}: ${msg}`);
}

/**
 * Run `fn` in an immediate (write-locking) transaction, whose commit syncs the log. `transient`: a
 * container's own state, committed without that sync (~0.4 ms each; rl run commits three). A power
 * loss may take such a record back, but it ends the container too, and the stale sweep sorts out what
 * is left: a record whose process is gone, or files without a record.
 */
export function transaction<T>(d: Database, path: string, fn: () => T, o: { transient?: boolean } = {}): T {
  // Around the outermost transaction only: a nested one is a savepoint of the same commit.
  const transient = o.transient === true && !d.inTransaction;
  try {
    if (transient) d.exec("PRAGMA synchronous = NORMAL");
    try {
      return d.transaction(fn).immediate();
    } catch (err) {
      if (!(isDiskFull(err) && !d.inTransaction && spendReserve(dirname(path)))) throw err;
      return d.transaction(fn).immediate();
    }
  } catch (err) {
    if (err instanceof RlError) throw err;
    throw storeError(err, path);
  } finally {
    if (transient) d.exec("PRAGMA synchronous = FULL");
  }
}

/** Whether `err` says the disk is full (SQLite's SQLITE_FULL, a file system's ENOSPC, or rl's word for them). */
export function isDiskFull(err: unknown): boolean {
  return /disk is full|SQLITE_FULL|ENOSPC|no space left|^the disk holding the store .* is full/i.test((err as Error)?.message ?? String(err)) || (err as NodeJS.ErrnoException)?.code === "ENOSPC";
}

/**
 * A file of RESERVE bytes kept in the store, so that a full disk does not wedge it: a command that frees
 * space (rm, rmi, prune: spendReserveWhenFull) deletes it when the disk is too full to record what it
 * deletes, then retries. It comes back with the next command that finds room for it.
 */
const RESERVE = 1 << 20;
let spendable = false;

/** Let this command's transactions delete the store's reserve when the disk is full (commands that free space). */
export function spendReserveWhenFull(): void {
  spendable = true;
}

function keepReserve(dir: string): void {
  const file = join(dir, "reserve");
  if (existsSync(file)) return;
  const tmp = `${file}.${process.pid}`;
  try {
    // Written, not truncated to size: the blocks must be allocated to be worth anything.
    writeFileSync(tmp, new Uint8Array(RESERVE), { flag: "wx", mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    debug(`store: no reserve (${(err as Error).message})`);
  }
}

function spendReserve(dir: string): boolean {
  if (!spendable) return false;
  try {
    unlinkSync(join(dir, "reserve"));
    debug("store: the disk is full: spent the reserve");
    return true;
  } catch {
    return false;
  }
}
