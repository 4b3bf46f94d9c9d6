import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { requireContainer } from "../store/containers-table";
import { loadNetwork } from "./store";
import type { PortMapping } from "./ports";

/**
 * `rl port CONTAINER [PORT[/PROTO]]`: the ports the container publishes, or only those of container
 * port PORT (tcp unless it says udp), which must be published.
 */
export function containerPorts(d: Database, container: string, filter?: string): PortMapping[] {
  const c = requireContainer(d, container);
  const ports: PortMapping[] = loadNetwork(d, c.id)?.ports ?? [];
  if (filter === undefined) return ports;
  const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(filter);
  if (!m) throw new RlError(`invalid port ${JSON.stringify(filter)}: use PORT or PORT/tcp|udp`);
  const proto = m[2] ?? "tcp";
  const found = ports.filter((p) => p.containerPort === Number(m[1]) && p.proto === proto);
  if (!found.length) throw new RlError(`no public port ${m[1]}/${proto} published for ${container}`);
  return found;
}
