import { RlError } from "../errors";
import { isIpv4Address, isIpv6Address } from "./ip-address";

export type Proto = "tcp" | "udp";

/** One published port. hostPort 0 means "any free port" until rl has bound it. */
export interface PortMapping {
  /** An IPv4 or IPv6 address, or "" for every address of the host (shown as 0.0.0.0, as podman does). */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

/** `[::1]:8080:80`: the bracketed IPv6 host address, and what follows it. */
function splitHostIp(spec: string, body: string): { ip: string | undefined; rest: string } {
  if (!body.startsWith("[")) return { ip: undefined, rest: body };
  const close = body.indexOf("]");
  if (close < 0 || body[close + 1] !== ":") throw new RlError(`invalid port ${JSON.stringify(spec)}: an IPv6 host address is written [ADDRESS]:HOSTPORT:CONTAINERPORT`);
  const ip = body.slice(1, close);
  if (!isIpv6Address(ip)) throw new RlError(`invalid port ${JSON.stringify(spec)}: ${JSON.stringify(ip)} is not an IPv6 address`);
  return { ip, rest: body.slice(close + 2) };
}

function portRange(text: string, what: string, fail: (why: string) => RlError, min = 1): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw fail(`${what} ${JSON.stringify(text)} is not a port or a range`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  for (const p of [lo, hi]) if (p < min || p > 65535) throw fail(`${p} is not between ${min} and 65535`);
  if (lo === 0 && hi !== 0) throw fail("a range cannot start at 0");
  if (hi < lo) throw fail(`the range ${text} ends before it starts`);
  return [lo, hi];
}

/**
 * docker's `-p`: `[HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp]`, where ports may be ranges of equal length
 * (`8000-8002:80-82`); no host port (or `HOSTIP::CTRPORT`) picks free ones. HOSTIP is IPv4 or a
 * bracketed IPv6 (`[::1]:8080:80`); without one, every address of both families.
 */
export function parsePublish(spec: string): PortMapping[] {
  const fail = (why: string) => new RlError(`invalid port ${JSON.stringify(spec)}: ${why}`);
  let body = spec;
  let proto: Proto = "tcp";
  const slash = spec.lastIndexOf("/");
  if (slash >= 0) {
    const p = spec.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw new RlError(`invalid port ${JSON.stringify(spec)}: the protocol must be tcp or udp`);
    proto = p;
    body = spec.slice(0, slash);
  }
  const v6 = splitHostIp(spec, body);
  const parts = v6.rest.split(":");
  if (v6.ip !== undefined ? parts.length !== 2 : parts.length > 3) {
    throw new RlError(`invalid port ${JSON.stringify(spec)}: use [HOSTIP:][HOSTPORT:]CONTAINERPORT (an IPv6 host address in brackets: [::1]:8080:80)`);
  }
  const ip = v6.ip ?? (parts.length === 3 ? parts[0]! : "");
  const [hostPart, ctrPart] = parts.length === 1 ? ["", parts[0]!] : parts.slice(-2);
  if (ip !== "" && v6.ip === undefined && !isIpv4Address(ip)) throw new RlError(`invalid port ${JSON.stringify(spec)}: ${JSON.stringify(ip)} is not an IPv4 address (an IPv6 one goes in brackets)`);
  const [clo, chi] = portRange(ctrPart!, "the container port", fail);
  const count = chi - clo + 1;
  let hostPorts: number[];
  if (!hostPart) hostPorts = new Array(count).fill(0);
  else {
    // Host port 0 asks for a free port, as an empty one does.
    const [hlo, hhi] = portRange(hostPart, "the host port", fail, 0);
    if (hlo !== 0 && hhi - hlo + 1 !== count) throw new RlError(`invalid port ${JSON.stringify(spec)}: the host range has ${hhi - hlo + 1} ports, the container range ${count}`);
    hostPorts = hlo === 0 ? new Array(count).fill(0) : Array.from({ length: count }, (_, i) => hlo + i);
  }
  return hostPorts.map((hostPort, i) => ({ hostIp: ip, hostPort, containerPort: clo + i, proto }));
}

/**
 * `-P`: every port the image exposes to a free host port. An ExposedPorts key is `PORT[/PROTO]` or a
 * range `LO-HI[/PROTO]` (as podman reads EXPOSE), nothing more: the image never picks the host address
 * or port. Anything else is refused, as podman refuses it, even without -P.
 */
export function exposedPorts(exposed: Record<string, unknown> | undefined): PortMapping[] {
  return Object.keys(exposed ?? {}).flatMap((key) => {
    const bad = (why: string) => new RlError(`the image exposes ${JSON.stringify(key)}: ${why}`);
    const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(key);
    if (!m) throw bad("an exposed port is PORT[/tcp|udp] or a range LO-HI[/tcp|udp]");
    const proto = (m[3] ?? "tcp").toLowerCase();
    if (proto !== "tcp" && proto !== "udp") throw bad(proto === "sctp" ? "rl publishes tcp and udp ports only" : `unknown protocol ${JSON.stringify(m[3])}`);
    const [lo, hi] = portRange(key.split("/")[0]!, "the port", bad);
    return Array.from({ length: hi - lo + 1 }, (_, i) => ({ hostIp: "", hostPort: 0, containerPort: lo + i, proto: proto as Proto }));
  });
}

/** Published ports plus -P's (a port -p already publishes is not added again); a host port used twice is an error. */
export function publishedPorts(specs: string[], publishAll: boolean, exposed: Record<string, unknown> | undefined): PortMapping[] {
  const out: PortMapping[] = [];
  for (const s of specs) out.push(...parsePublish(s));
  const used = new Set<string>();
  for (const p of out) {
    if (p.hostPort === 0) continue;
    const key = `${p.hostPort}/${p.proto}`;
    if (used.has(key)) throw new RlError(`host port ${key} is published twice`);
    used.add(key);
  }
  const fromImage = exposedPorts(exposed);
  if (publishAll) {
    for (const e of fromImage) if (!out.some((p) => p.containerPort === e.containerPort && p.proto === e.proto)) out.push(e);
  }
  return out;
}

/** The host side of a published port: `0.0.0.0:8080`, `127.0.0.1:8080`, `[::1]:8080`. */
export function formatHostAddress(p: Pick<PortMapping, "hostIp" | "hostPort">): string {
  const ip = p.hostIp === "" ? "0.0.0.0" : p.hostIp.includes(":") ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}`;
}

/** docker's `port` lines: `80/tcp -> 0.0.0.0:8080`. */
export function formatPort(p: PortMapping): string {
  return `${p.containerPort}/${p.proto} -> ${formatHostAddress(p)}`;
}

/** docker's NetworkSettings.Ports (and HostConfig.PortBindings): "80/tcp" → [{ HostIp, HostPort }], every address as 0.0.0.0. */
export function portBindings(ports: PortMapping[]): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const m of ports) (out[`${m.containerPort}/${m.proto}`] ??= []).push({ HostIp: m.hostIp || "0.0.0.0", HostPort: String(m.hostPort) });
  return out;
}

/**
 * A published port with the field names of podman's PortMapping, for Go templates: HostIP ("" for every
 * address, as podman has it), ContainerPort, HostPort, Range, Protocol. rl keeps each port of a range
 * apart, so Range is 1.
 */
export function portMappingRecord(p: PortMapping) {
  return { HostIP: p.hostIp, ContainerPort: p.containerPort, HostPort: p.hostPort, Range: 1, Protocol: p.proto };
}

/** The PORTS column of `ps`: `0.0.0.0:8080->80/tcp, ...`. */
export function formatPortsColumn(ports: PortMapping[]): string {
  return ports.map((p) => `${formatHostAddress(p)}->${p.containerPort}/${p.proto}`).join(", ");
}
