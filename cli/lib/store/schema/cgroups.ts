/**
 * The cgroup made for a container with resource limits, so its removal and the stale sweep find it, and
 * whether the kernel's OOM killer ended something in it (memory.events oom_kill):
 * runtime/cgroup/container-cgroup.ts reads and writes it. Its DDL is here because the store assembles
 * the migrations and must not import runtime/. A released statement is never edited; a change is a new
 * migration (store/migrations.ts).
 */

/** Migration 1 (as rl made it before numbered migrations). */
export const CGROUP_TABLES = `
CREATE TABLE IF NOT EXISTS container_cgroups (
  container_id TEXT PRIMARY KEY REFERENCES containers(id) ON DELETE CASCADE,
  path TEXT NOT NULL,             -- absolute, under /sys/fs/cgroup
  oom_killed INTEGER NOT NULL DEFAULT 0
);
`;
