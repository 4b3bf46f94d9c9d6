/**
 * The containers table's DDL; store/containers-table.ts reads and writes it. A released statement is
 * never edited; a change is a new migration (store/migrations.ts).
 */

/** Migration 1 (as rl made it before numbered migrations). */
export const CONTAINER_TABLES = `
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
`;

/** Migration 2: what the lifecycle of a detached container records (start, its monitor, how it was created). */
export const CONTAINER_LIFECYCLE_COLUMNS = `
ALTER TABLE containers ADD COLUMN started INTEGER;       -- ms since the epoch when it last started
ALTER TABLE containers ADD COLUMN monitor_pid INTEGER;   -- the monitor process of a detached container
ALTER TABLE containers ADD COLUMN monitor_start TEXT;    -- its /proc/PID/stat start time, against pid reuse
ALTER TABLE containers ADD COLUMN config TEXT;           -- JSON: the container's creation config
`;

/** Migration 3: the rl that runs a foreground container, which records its end (the sweep leaves it to that rl). */
export const CONTAINER_RUNNER_COLUMNS = `
ALTER TABLE containers ADD COLUMN runner_pid INTEGER;    -- the rl process of a foreground container
ALTER TABLE containers ADD COLUMN runner_start TEXT;     -- its /proc/PID/stat start time, against pid reuse
`;
