import { RlError } from "../errors";
import { isIpAddress } from "./ip-address";
import { slirpAddresses, type NetworkConfig } from "./options";

/** What the user asked for with --dns, --dns-search, --dns-option and --add-host. */
export interface DnsOptions {
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
}

/** `--add-host NAME:IP` (IPv6 addresses keep their colons: the first colon ends the name). */
export function parseAddHost(text: string): { name: string; ip: string } {
  const colon = text.indexOf(":");
  const name = text.slice(0, colon);
  let ip = text.slice(colon + 1);
  if (ip.startsWith("[") && ip.endsWith("]")) ip = ip.slice(1, -1);
  if (colon <= 0 || !/^[A-Za-z0-9._-]+$/.test(name) || !isIpAddress(ip)) throw new RlError(`invalid --add-host ${JSON.stringify(text)}: use NAME:IP`);
  return { name, ip };
}

function checkDnsServer(s: string): void {
  if (!isIpAddress(s)) throw new RlError(`invalid --dns ${JSON.stringify(s)}: not an IP address`);
}

/** --dns and --add-host, checked before a container is made (their files are written later). */
export function checkDnsOptions(o: DnsOptions): void {
  o.dns.forEach(checkDnsServer);
  o.addHost.forEach(parseAddHost);
}

const isLoopback = (ip: string) => ip.startsWith("127.") || ip === "::1";

/**
 * The container's resolv.conf. host: the host's own file. slirp4netns: its DNS forwarder first (it
 * reaches the host's resolvers even when they are on the host's loopback), then the host's resolvers the
 * namespace can reach itself (not loopback; IPv6 only with enable_ipv6), as podman does; the host's
 * search domains and options are kept. --dns, --dns-search and --dns-option replace their part.
 */
export function resolvConf(hostText: string, net: NetworkConfig, o: DnsOptions): string {
  const lines = hostText.split("\n").map((l) => l.trim());
  const field = (key: string) => lines.filter((l) => l.startsWith(`${key} `) || l.startsWith(`${key}\t`)).map((l) => l.slice(key.length).trim());
  if (net.mode === "host" && !o.dns.length && !o.dnsSearch.length && !o.dnsOption.length) return hostText;
  let servers = field("nameserver");
  if (net.mode === "slirp4netns") servers = [slirpAddresses(net.slirp.cidr).dns, ...servers.filter((s) => !isLoopback(s) && (net.slirp.enableIpv6 || !s.includes(":")))];
  else if (net.mode === "none") servers = servers.filter((s) => !isLoopback(s));
  if (o.dns.length) {
    o.dns.forEach(checkDnsServer);
    servers = o.dns;
  }
  const words = (key: string) => field(key).join(" ").split(/\s+/).filter(Boolean);
  const search = o.dnsSearch.length ? (o.dnsSearch.includes(".") ? [] : o.dnsSearch) : words("search");
  const options = o.dnsOption.length ? o.dnsOption : words("options");
  const out = [...(search.length ? [`search ${search.join(" ")}`] : []), ...servers.map((s) => `nameserver ${s}`), ...(options.length ? [`options ${options.join(" ")}`] : [])];
  return out.length ? `${out.join("\n")}\n` : "";
}

/**
 * The container's /etc/hosts: localhost, the container's own address for its hostname and name,
 * host.containers.internal when the host's loopback is reachable, and --add-host entries.
 */
export function hostsFile(hostText: string, net: NetworkConfig, names: string, addHost: string[]): string {
  const extra = addHost.map(parseAddHost).map((h) => `${h.ip}\t${h.name}\n`).join("");
  if (net.mode === "host") return `${hostText.trimEnd()}\n${extra}127.0.1.1\t${names}\n`;
  let out = `127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n${extra}`;
  if (net.mode === "slirp4netns") {
    const a = slirpAddresses(net.slirp.cidr);
    out += `${a.container}\t${names}\n`;
    if (net.slirp.allowHostLoopback) out += `${a.gateway}\thost.containers.internal\n`;
  } else out += `127.0.1.1\t${names}\n`;
  return out;
}
