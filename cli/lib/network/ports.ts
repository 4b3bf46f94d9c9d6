import { RlError } from "../errors";

export type Proto = "tcp" | "udp";

/** One published port. hostPort 0 means "any free port" until rl has bound it. */
export interface PortMapping {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: Proto;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function portRange(text: string, spec: string, what: string, min = 1): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw new RlError(`invalid port ${JSON.stringify(spec)}: ${what} ${JSON.stringify(text)} is not a port or a range`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  for (const p of [lo, hi]) if (p < min || p > 65535) throw new RlError(`invalid port ${JSON.stringify(spec)}: ${p} is not between ${min} and 65535`);
  if (lo === 0 && hi !== 0) throw new RlError(`invalid port ${JSON.stringify(spec)}: a range cannot start at 0`);
  if (hi < lo) throw new RlError(`invalid port ${JSON.stringify(spec)}: the range ${text} ends before it starts`);
  return [lo, hi];
}

/**
 * docker's `-p`: `[HOSTIP:][HOSTPORT:]CTRPORT[/tcp|/udp]`, where ports may be ranges of equal length
 * (`8000-8002:80-82`); no host port (or `HOSTIP::CTRPORT`) picks free ones.
 */
export function parsePublish(spec: string): PortMapping[] {
  let body = spec;
  let proto: Proto = "tcp";
  const slash = spec.lastIndexOf("/");
  if (slash >= 0) {
    const p = spec.slice(slash + 1);
    if (p !== "tcp" && p !== "udp") throw new RlError(`invalid port ${JSON.stringify(spec)}: the protocol must be tcp or udp`);
    proto = p;
    body = spec.slice(0, slash);
  }
  const parts = body.split(":");
  if (parts.length > 3) throw new RlError(`invalid port ${JSON.stringify(spec)}: use [HOSTIP:][HOSTPORT:]CONTAINERPORT (IPv6 host addresses are not supported)`);
  const [hostIp, hostPart, ctrPart] = parts.length === 3 ? parts : parts.length === 2 ? ["0.0.0.0", parts[0]!, parts[1]!] : ["0.0.0.0", "", parts[0]!];
  const ip = hostIp || "0.0.0.0";
  if (!IPV4.test(ip)) throw new RlError(`invalid port ${JSON.stringify(spec)}: ${JSON.stringify(ip)} is not an IPv4 address`);
  const [clo, chi] = portRange(ctrPart!, spec, "the container port");
  const count = chi - clo + 1;
  let hostPorts: number[];
  if (!hostPart) hostPorts = new Array(count).fill(0);
  else {
    // Host port 0 asks for a free port, as an empty one does.
    const [hlo, hhi] = portRange(hostPart, spec, "the host port", 0);
    if (hlo !== 0 && hhi - hlo + 1 !== count) throw new RlError(`invalid port ${JSON.stringify(spec)}: the host range has ${hhi - hlo + 1} ports, the container range ${count}`);
    hostPorts = hlo === 0 ? new Array(count).fill(0) : Array.from({ length: count }, (_, i) => hlo + i);
  }
  return hostPorts.map((hostPort, i) => ({ hostIp: ip, hostPort, containerPort: clo + i, proto }));
}

/** `-P`: every port the image exposes ("80/tcp", "53/udp", "8080") to a free host port. */
export function exposedPorts(exposed: Record<string, unknown> | undefined): PortMapping[] {
  return Object.keys(exposed ?? {}).flatMap((k) => parsePublish(k));
}

/** Published ports plus -P's (a port -p already publishes is not added again); a host port used twice is an error. */
export function publishedPorts(specs: string[], publishAll: boolean, exposed: Record<string, unknown> | undefined): PortMapping[] {
  const out = specs.flatMap(parsePublish);
  const used = new Set<string>();
  for (const p of out) {
    if (p.hostPort === 0) continue;
    const key = `${p.hostPort}/${p.proto}`;
    if (used.has(key)) throw new RlError(`host port ${key} is published twice`);
    used.add(key);
  }
  if (publishAll) {
    for (const e of exposedPorts(exposed)) if (!out.some((p) => p.containerPort === e.containerPort && p.proto === e.proto)) out.push(e);
  }
  return out;
}

/** docker's `port` lines: `80/tcp -> 0.0.0.0:8080`. */
export function formatPort(p: PortMapping): string {
  return `${p.containerPort}/${p.proto} -> ${p.hostIp}:${p.hostPort}`;
}

/** The PORTS column of `ps`: `0.0.0.0:8080->80/tcp, ...`. */
export function formatPortsColumn(ports: PortMapping[]): string {
  return ports.map((p) => `${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.proto}`).join(", ");
}
