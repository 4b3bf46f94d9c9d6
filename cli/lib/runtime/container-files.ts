import { readFileSync, writeFileSync, mkdirSync, renameSync } from "node:fs";
import { hostname as hostHostname } from "node:os";
import { join } from "node:path";

export type NetworkMode = "none" | "host";

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
export function writeContainerFiles(dir: string, o: { hostname: string; name: string; network: NetworkMode }): Record<string, string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = {
    "/etc/hostname": join(dir, "hostname"),
    "/etc/hosts": join(dir, "hosts"),
    "/etc/resolv.conf": join(dir, "resolv.conf"),
  };
  atomicWrite(files["/etc/hostname"], `${o.hostname}\n`);
  const names = o.name === o.hostname ? o.hostname : `${o.hostname} ${o.name}`;
  const hosts =
    o.network === "host"
      ? `${hostFile("/etc/hosts").trimEnd()}\n127.0.1.1\t${names}\n`
      : `127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t${names}\n`;
  atomicWrite(files["/etc/hosts"], hosts);
  atomicWrite(files["/etc/resolv.conf"], hostFile("/etc/resolv.conf"));
  return files;
}

export function defaultHostname(id: string, network: NetworkMode): string {
  return network === "host" ? hostHostname() : id.slice(0, 12);
}
