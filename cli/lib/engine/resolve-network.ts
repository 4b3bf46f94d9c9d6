import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { warnOnce } from "../log";
import { parseNetwork, type NetworkConfig } from "../network/options";
import { formatHostAddress, publishedPorts, type PortMapping } from "../network/ports";
import { loadNetwork } from "../network/store";
import { findContainer } from "../store/containers-table";
import type { Namespaces } from "../runtime/container-process";
import type { RunOptions } from "../runtime/run-options";

export interface ResolvedNetwork {
  /** What this container was asked for (container:ID with the full id). */
  config: NetworkConfig;
  /** The network its files (/etc/hosts, resolv.conf) describe: for container:, the other one's. */
  effective: NetworkConfig;
  /** container:: the pid whose namespaces are joined. */
  joinPid?: number;
  /** container:: the container that made the network; its /etc/hosts and resolv.conf are shared. */
  owner?: string;
}

/** Parse --network and, for container:NAME, find that running container and its network. */
export function resolveNetwork(d: Database, text: string): ResolvedNetwork {
  const config = parseNetwork(text);
  if (config.mode !== "container") return { config, effective: config };
  const other = findContainer(d, config.container);
  if (!other) throw new RlError(`cannot join the network of container ${config.container}: no such container`);
  if (other.state !== "running" || other.pid === null) throw new RlError(`cannot join the network of container ${config.container}: it is not running`);
  const rec = loadNetwork(d, other.id);
  const chain = rec?.config.mode === "container" ? resolveNetwork(d, `container:${rec.config.container}`) : undefined;
  const effective = chain ? chain.effective : (rec?.config ?? { mode: "none" as const });
  if (effective.mode === "host") return { config: { mode: "host" }, effective };
  return { config: { mode: "container", container: other.id }, effective, joinPid: other.pid, owner: chain?.owner ?? other.id };
}

/** The ports to publish: none, with one warning, where the network is not one of the container's own (as podman). */
export function portsFor(o: RunOptions, net: ResolvedNetwork, exposed: Record<string, unknown> | undefined): PortMapping[] {
  const ports = publishedPorts(o.publish, o.publishAll, exposed);
  if (net.config.mode === "slirp4netns") {
    const v6 = net.config.slirp.portHandler === "slirp4netns" && ports.find((p) => p.hostIp.includes(":"));
    if (v6) throw new RlError(`cannot publish port ${formatHostAddress(v6)}/${v6.proto} with port_handler=slirp4netns: its API forwards IPv4 host addresses only (the default port_handler=rl forwards both)`);
    return ports;
  }
  if (o.publish.length) warnOnce(`port mappings are discarded: --network ${o.network} has no ports of its own to publish`);
  return [];
}

/** --dns* and --add-host describe a network's files; a joined network's files belong to its owner. */
export function checkJoinedDns(o: RunOptions, net: ResolvedNetwork): void {
  if (net.owner === undefined) return;
  const used = [["--dns", o.dns.dns], ["--dns-search", o.dns.dnsSearch], ["--dns-option", o.dns.dnsOption], ["--add-host", o.dns.addHost]].find(([, v]) => v!.length);
  if (used) throw new RlError(`cannot use ${used[0]} with --network ${o.network}: that container's /etc/hosts and /etc/resolv.conf are shared`);
}

/** The namespaces of a container: new ones, but for host networking, or another container's network. */
export function namespacesFor(net: ResolvedNetwork): Namespaces {
  const namespaces: Namespaces = [{ type: "user" }, { type: "mount" }, { type: "pid" }, { type: "uts" }, { type: "ipc" }, { type: "cgroup" }];
  if (net.config.mode !== "host") namespaces.push({ type: "network" });
  if (net.joinPid !== undefined) {
    namespaces[0] = { type: "user", path: `/proc/${net.joinPid}/ns/user` };
    namespaces[namespaces.length - 1] = { type: "network", path: `/proc/${net.joinPid}/ns/net` };
  }
  return namespaces;
}

