import { CGROUP_TABLES } from "./schema/cgroups";
import { CONTAINER_LIFECYCLE_COLUMNS, CONTAINER_RUNNER_COLUMNS, CONTAINER_TABLES } from "./schema/containers";
import { IMAGE_TABLES, LAYER_SIZE_TABLES, PENDING_WRITE_TABLES, REPO_DIGEST_TABLES } from "./schema/images";
import { NETWORK_TABLES } from "./schema/networks";
import { VOLUME_TABLES } from "./schema/volumes";

/** One step of the store's schema: SQL run once, in the transaction that records it (db.ts upgradeStore). */
export interface Migration {
  /** What it does, in the error that says it failed. */
  readonly what: string;
  readonly sql: string;
}

/**
 * The store's schema, one step at a time: migration N is MIGRATIONS[N - 1], and a store's user_version is
 * the number of the last one it has. Append only: a released step is never edited or removed (stores
 * have it already); a new table or column is a new step at the end, its SQL in the schema file of the
 * module that owns the table (store/schema/).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    // The schema of every rl before numbered migrations, in that order, statement for statement. Its
    // CREATE ... IF NOT EXISTS also completes the store of an older rl that lacked later tables.
    what: "the tables of rl before numbered migrations",
    sql: IMAGE_TABLES + CONTAINER_TABLES + REPO_DIGEST_TABLES + LAYER_SIZE_TABLES + PENDING_WRITE_TABLES + NETWORK_TABLES + VOLUME_TABLES + CGROUP_TABLES,
  },
  { what: "containers: start time, monitor process, creation config", sql: CONTAINER_LIFECYCLE_COLUMNS },
  { what: "containers: the rl process that runs a foreground container", sql: CONTAINER_RUNNER_COLUMNS },
];
