import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { hostname as hostHostname } from "node:os";
import { join } from "node:path";
import { atomicWriteFile } from "../atomic-write";
import { hostsFile, resolvConf, type DnsOptions } from "../network/etc-files";
import type { NetworkConfig } from "../network/options";

const atomicWrite = (path: string, text: string) => atomicWriteFile(path, text, 0o644);

function hostFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

interface FilesOptions {
  hostname: string;
  name: string;
  network: NetworkConfig;
  dns: DnsOptions;
  /** container:: the runtime dir of the container whose network is joined. */
  sharedFrom?: string;
}

/**
 * /etc/hosts, /etc/hostname and /etc/resolv.conf for a container, written to its runtime dir. A joined
 * network (container:) shares its owner's resolv.conf; its hosts file is the owner's entries plus this
 * container's names on 127.0.0.1 (podman appends those to the owner's own file: a copy leaves the other
 * container's file as it was).
 */
export function writeContainerFiles(dir: string, o: FilesOptions): Record<string, string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    "/etc/hostname": join(dir, "hostname"),
    "/etc/hosts": join(dir, "hosts"),
    "/etc/resolv.conf": join(dir, "resolv.conf"),
  };
  atomicWrite(files["/etc/hostname"], `${o.hostname}\n`);
  const names = o.name === o.hostname ? o.hostname : `${o.hostname} ${o.name}`;
  const ownerHosts = o.sharedFrom === undefined ? undefined : hostFile(join(o.sharedFrom, "hosts"));
  const ownerResolv = o.sharedFrom === undefined ? undefined : join(o.sharedFrom, "resolv.conf");
  atomicWrite(files["/etc/hosts"], ownerHosts ? `${ownerHosts.trimEnd()}\n127.0.0.1\t${names}\n` : hostsFile(hostFile("/etc/hosts"), o.network, names, o.dns.addHost));
  if (ownerResolv && existsSync(ownerResolv)) files["/etc/resolv.conf"] = ownerResolv;
  else atomicWrite(files["/etc/resolv.conf"], resolvConf(hostFile("/etc/resolv.conf"), o.network, o.dns));
  return files;
}

export function defaultHostname(id: string, network: NetworkConfig): string {
  return network.mode === "host" ? hostHostname() : id.slice(0, 12);
}
