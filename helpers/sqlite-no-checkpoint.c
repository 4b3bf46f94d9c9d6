/*
 * An SQLite extension that rl loads into its store's connection (cli/lib/store/db.ts): the connection
 * does not checkpoint its write-ahead log when it closes (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE).
 *
 * Every rl command is a short process whose connection is the last one open, so by default each would
 * end with a checkpoint (two fsyncs and the log's truncation), and the next write would start a new log
 * (one more fsync): about 1.5 ms of each `rl run`. Without them the log grows by the pages each command
 * writes, and the command that finds it past 512 KiB checkpoints and empties it (closeDb in db.ts). A log
 * left behind is what a crash leaves: SQLite reads it back on the next open, so nothing is lost and
 * nothing is half-written; commits sync the log themselves (synchronous=FULL), but for a container's own
 * records (see transaction in db.ts).
 *
 * `bun install` builds it with the other helpers (helpers/c-build.ts). TinyCC cannot make a loadable
 * extension: without a C compiler, rl goes without it and checkpoints at each close as before.
 */

/* The routines SQLite hands an extension: an array of function pointers that SQLite only ever appends
 * to (struct sqlite3_api_routines in sqlite3ext.h), in which db_config is entry 163. No headers: the
 * build needs nothing beyond a C compiler. */
#define API_DB_CONFIG 163
#define SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE 1006
#define SQLITE_ERROR 1

typedef int (*db_config_fn)(void *db, int op, ...);

int sqlite3_rlstore_init(void *db, char **err, void *const *api) {
  int on = 0;
  int rc = ((db_config_fn)api[API_DB_CONFIG])(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, &on);
  (void)err;
  return rc != 0 ? rc : on == 1 ? 0 : SQLITE_ERROR;
}
