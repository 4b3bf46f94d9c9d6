import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { hostname as hostHostname } from "node:os";
import { join } from "node:path";
import { hostsFile, resolvConf, type DnsOptions } from "../network/etc-files";
import type { NetworkConfig } from "../network/options";

function atomicWrite(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

function hostFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written to its runtime dir. */
export function writeContainerFiles(dir: string, o: { hostname: string; name: string; network: NetworkConfig; dns: DnsOptions }): Record<string, string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    "/etc/hostname": join(dir, "hostname"),
    "/etc/hosts": join(dir, "hosts"),
    "/etc/resolv.conf": join(dir, "resolv.conf"),
  };
  atomicWrite(files["/etc/hostname"], `${o.hostname}\n`);
  const names = o.name === o.hostname ? o.hostname : `${o.hostname} ${o.name}`;
  atomicWrite(files["/etc/hosts"], hostsFile(hostFile("/etc/hosts"), o.network, names, o.dns.addHost));
  atomicWrite(files["/etc/resolv.conf"], resolvConf(hostFile("/etc/resolv.conf"), o.network, o.dns));
  return files;
}

export function defaultHostname(id: string, network: NetworkConfig): string {
  return network.mode === "host" ? hostHostname() : id.slice(0, 12);
}
