/**
 * Named and anonymous volumes (their files in volumes/NAME/_data) and what each container mounts of
 * volumes and host directories (--volumes-from copies them, rm refuses a used volume): store/volumes.ts
 * and runtime/volume-mounts.ts read and write them. A released statement is never edited; a change is
 * a new migration (store/migrations.ts).
 */

/** Migration 1 (as rl made them before numbered migrations). */
export const VOLUME_TABLES = `
CREATE TABLE IF NOT EXISTS volumes (
  name TEXT PRIMARY KEY,
  driver TEXT NOT NULL,           -- local
  labels TEXT NOT NULL,           -- JSON object
  options TEXT NOT NULL,          -- JSON object (--opt)
  anonymous INTEGER NOT NULL,     -- made for an image's VOLUME: removed with rm -v and --rm
  filled INTEGER NOT NULL,        -- 1 once a container used it (a new one is filled from the image then)
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS container_volumes (
  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
  destination TEXT NOT NULL,
  volume TEXT REFERENCES volumes(name), -- a volume's name, or NULL for a bind of a host directory
  source TEXT,                    -- the bind's host directory
  options TEXT NOT NULL,          -- JSON array: the mount's options (ro, rbind, …)
  PRIMARY KEY (container_id, destination)
);
`;
