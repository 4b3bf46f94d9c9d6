import { constants, Database } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RlError } from "../errors";
import { debug } from "../log";
import { prebuiltExtension } from "../sys/compile-c";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS images (
  id TEXT PRIMARY KEY,            -- config digest
  manifest_digest TEXT,
  manifest BLOB,
  config BLOB NOT NULL,
  layers TEXT NOT NULL,           -- JSON array of chain ids, bottom first
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS image_names (
  name TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS layers (
  chain_id TEXT PRIMARY KEY,
  diff_id TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS containers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  image_id TEXT NOT NULL,
  image_name TEXT NOT NULL,
  command TEXT NOT NULL,
  driver TEXT NOT NULL,
  state TEXT NOT NULL,            -- created | running | exited
  pid INTEGER,
  pid_start TEXT,                 -- /proc/PID/stat start time, against pid reuse
  exit_code INTEGER,
  auto_remove INTEGER NOT NULL,
  created INTEGER NOT NULL,
  finished INTEGER
);
-- registry (pull/push): the registry digests of an image, as podman's RepoDigests. Images that share a
-- config (same id) can come from different manifests (gzip and zstd copies): manifest_digest is the one
-- pulled from or pushed to that repository (its bytes are in the blob store), so push sends it back.
CREATE TABLE IF NOT EXISTS image_repo_digests (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  repo_digest TEXT NOT NULL,      -- registry/repo@sha256:… of the manifest or index
  manifest_digest TEXT NOT NULL,  -- the image manifest (differs from repo_digest's for an index)
  created INTEGER NOT NULL,
  PRIMARY KEY (image_id, repo_digest)
);
-- end registry

-- Image store (store branch): what listing, saving and garbage collection need beyond the tables above.
-- An image's blobs are its manifest (images.manifest, always set since), its config and the manifest's layers.
CREATE TABLE IF NOT EXISTS layer_sizes (
  chain_id TEXT PRIMARY KEY,
  diff_size INTEGER NOT NULL      -- bytes of the layer's uncompressed tar
);
-- Store writes in progress (store-atomic branch): each layer directory and blob an rl process is about to
-- create, recorded in a committed transaction before it lands and cleared in the transaction that records
-- the images referring to it (store/store-write.ts). Rows of a dead owner are what a killed rl left:
-- the next rl removes those no image refers to (cleanDebris).
CREATE TABLE IF NOT EXISTS pending_writes (
  kind TEXT NOT NULL,             -- layer | blob | gc (a collection owed by rmi or prune)
  hex TEXT NOT NULL,              -- chain id or digest, without "sha256:"
  pid INTEGER NOT NULL,           -- the rl process writing it
  pid_start TEXT NOT NULL,        -- its /proc/PID/stat start time, against pid reuse
  PRIMARY KEY (kind, hex, pid, pid_start)
);

-- networking (net branch): the network of each container, so rl port, container: and the stale sweep
-- find them.
CREATE TABLE IF NOT EXISTS container_networks (
  container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
  mode TEXT NOT NULL,             -- slirp4netns | none | host | container:<id>
  config TEXT NOT NULL,           -- JSON: the parsed --network (NetworkConfig)
  ports TEXT NOT NULL,            -- JSON: published ports with the host ports bound
  helpers TEXT NOT NULL           -- JSON: [{role, pid, start}] of slirp4netns and the port forwarder
);
-- end of networking

-- volumes (volumes branch): named and anonymous volumes, their files in volumes/NAME/_data.
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY,
  driver TEXT NOT NULL,           -- local
  labels TEXT NOT NULL,           -- JSON object
  options TEXT NOT NULL,          -- JSON object (--opt)
  anonymous INTEGER NOT NULL,     -- made for an image's VOLUME: removed with rm -v and --rm
  filled INTEGER NOT NULL,        -- 1 once a container used it (a new one is filled from the image then)
  created INTEGER NOT NULL
);
-- What each container mounts of volumes and host directories (--volumes-from copies them, rm refuses a used volume).
CREATE TABLE IF NOT EXISTS container_volumes (
  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
  destination TEXT NOT NULL,
  volume TEXT REFERENCES volumes(name), -- a volume's name, or NULL for a bind of a host directory
  source TEXT,                    -- the bind's host directory
  options TEXT NOT NULL,          -- JSON array: the mount's options (ro, rbind, …)
  PRIMARY KEY (container_id, destination)
);
-- end of volumes

-- cgroups (cgroup branch): the cgroup made for a container with resource limits, so its removal and the
-- stale sweep find it, and whether the kernel's OOM killer ended something in it (memory.events oom_kill).
CREATE TABLE IF NOT EXISTS container_cgroups (
  container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
  path TEXT NOT NULL,             -- absolute, under /sys/fs/cgroup
  oom_killed INTEGER NOT NULL DEFAULT 0
);
-- end of cgroups

-- detached containers (detach branch): the monitor (helpers/monitor.c) that is a detached container's
-- parent: while it runs, the container's end is its to record (its exit command), not the stale sweep's.
CREATE TABLE IF NOT EXISTS container_monitors (
  container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
  pid INTEGER NOT NULL,
  pid_start TEXT NOT NULL
);
-- end of detached containers
`;

/**
 * The schema's fingerprint, kept in the database's user_version once SCHEMA has run: a store that has
 * it needs no CREATE statements (parsing them costs ~0.3 ms of every command). Any edit of SCHEMA
 * changes it, so the statements run again once.
 */
const SCHEMA_VERSION = Bun.hash.crc32(SCHEMA) & 0x7fffffff;

let db: Database | undefined;

/** The metadata database (WAL, so several rl processes can read while one writes). */
export function openDb(path: string): Database {
  if (db) return db;
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
      const { user_version } = d.query("PRAGMA user_version").get() as { user_version: number };
      if (user_version !== SCHEMA_VERSION) d.exec(`${SCHEMA}\nPRAGMA user_version = ${SCHEMA_VERSION};`);
      db = d;
      keepReserve(dirname(path));
      return d;
    } catch (err) {
      d?.close();
      if (!isBusy(err) || Date.now() >= deadline) throw storeError(err, path);
    }
    Bun.sleepSync(wait);
  }
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
  if (db && lightClose && logSize() > LOG_LIMIT) {
    try {
      // Only when no other process uses the log now (no wait): else a later command does it.
      db.exec("PRAGMA busy_timeout = 0");
      db.query("PRAGMA wal_checkpoint(TRUNCATE)").get();
    } catch (err) {
      debug(`store: log not checkpointed (${(err as Error).message})`);
    }
  }
  db?.close();
  db = undefined;
}

function logSize(): number {
  try {
    return statSync(`${db!.filename}-wal`).size;
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
