/**
 * The network of each container, which network/store.ts reads and writes, so rl port, container: and the
 * stale sweep find them. Its DDL is here because the store assembles the migrations and network/ imports
 * the store. A released statement is never edited; a change is a new migration (store/migrations.ts).
 */

/** Migration 1 (as rl made it before numbered migrations). */
export const NETWORK_TABLES = `
CREATE TABLE IF NOT EXISTS container_networks (
  container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
  mode TEXT NOT NULL,             -- slirp4netns | none | host | container:<id>
  config TEXT NOT NULL,           -- JSON: the parsed --network (NetworkConfig)
  ports TEXT NOT NULL,            -- JSON: published ports with the host ports bound
  helpers TEXT NOT NULL           -- JSON: [{role, pid, start}] of slirp4netns and the port forwarder
);
`;
