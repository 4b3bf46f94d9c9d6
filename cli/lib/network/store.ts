import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { transaction } from "../store/db";
import { killPid } from "../sys/executor";
import type { HelperPid } from "./attach";
import { networkModeName, type NetworkConfig } from "./options";
import type { PortMapping } from "./ports";

export interface NetworkRecord {
  config: NetworkConfig;
  ports: PortMapping[];
  helpers: HelperPid[];
}

export function saveNetwork(d: Database, p: Paths, id: string, r: NetworkRecord): void {
  transaction(d, p.db, () =>
    d.query("INSERT OR REPLACE INTO container_networks (container_id, mode, config, ports, helpers) VALUES (?, ?, ?, ?, ?)")
      .run(id, networkModeName(r.config), JSON.stringify(r.config), JSON.stringify(r.ports), JSON.stringify(r.helpers)),
  { transient: true });
}

export function loadNetwork(d: Database, id: string): NetworkRecord | undefined {
  const row = d.query("SELECT config, ports, helpers FROM container_networks WHERE container_id = ?").get(id) as { config: string; ports: string; helpers: string } | null;
  if (!row) return undefined;
  return { config: JSON.parse(row.config), ports: JSON.parse(row.ports), helpers: JSON.parse(row.helpers) };
}

/** The container's helpers are over: forget them (the record stays for `rl port` of an exited container). */
export function clearHelpers(d: Database, p: Paths, id: string): void {
  transaction(d, p.db, () => d.query("UPDATE container_networks SET helpers = '[]' WHERE container_id = ?").run(id), { transient: true });
}

/**
 * For a container whose rl died: end its slirp4netns and forwarder if they still run (they exit by
 * themselves when rl dies; this is the safety net), matched by start time against pid reuse.
 */
export function endStaleHelpers(d: Database, p: Paths, id: string, startTime: (pid: number) => string | undefined): void {
  const r = loadNetwork(d, id);
  if (!r?.helpers.length) return;
  for (const h of r.helpers) if (h.start !== null && startTime(h.pid) === h.start) killPid(h.pid, 9);
  clearHelpers(d, p, id);
}
