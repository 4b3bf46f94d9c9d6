/**
 * The image store's tables (store/images.ts, store-image.ts, tag.ts, remove.ts read and write them). DDL only,
 * assembled into the store's migrations by store/migrations.ts: a released statement is never edited,
 * a change is a new migration.
 */

/** Migration 1 (as rl made them before numbered migrations). */
export const IMAGE_TABLES = `
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
`;

/**
 * Migration 1. Registry (pull/push): the registry digests of an image, as podman's RepoDigests. Images
 * that share a config (same id) can come from different manifests (gzip and zstd copies): manifest_digest
 * is the one pulled from or pushed to that repository (its bytes are in the blob store), so push sends it back.
 */
export const REPO_DIGEST_TABLES = `
CREATE TABLE IF NOT EXISTS image_repo_digests (
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  repo_digest TEXT NOT NULL,      -- registry/repo@sha256:… of the manifest or index
  manifest_digest TEXT NOT NULL,  -- the image manifest (differs from repo_digest's for an index)
  created INTEGER NOT NULL,
  PRIMARY KEY (image_id, repo_digest)
);
`;

/**
 * Migration 1. What listing, saving and garbage collection need beyond the tables above. An image's blobs
 * are its manifest (images.manifest, always set since), its config and the manifest's layers.
 */
export const LAYER_SIZE_TABLES = `
CREATE TABLE IF NOT EXISTS layer_sizes (
  chain_id TEXT PRIMARY KEY,
  diff_size INTEGER NOT NULL      -- bytes of the layer's uncompressed tar
);
`;

/**
 * Migration 1. Store writes in progress: each layer directory and blob an rl process is about to create,
 * recorded in a committed transaction before it lands and cleared in the transaction that records the
 * images referring to it (store/store-write.ts). Rows of a dead owner are what a killed rl left: the next
 * rl removes those no image refers to (cleanDebris).
 */
export const PENDING_WRITE_TABLES = `
CREATE TABLE IF NOT EXISTS pending_writes (
  kind TEXT NOT NULL,             -- layer | blob | gc (a collection owed by rmi or prune)
  hex TEXT NOT NULL,              -- chain id or digest, without "sha256:"
  pid INTEGER NOT NULL,           -- the rl process writing it
  pid_start TEXT NOT NULL,        -- its /proc/PID/stat start time, against pid reuse
  PRIMARY KEY (kind, hex, pid, pid_start)
);
`;
