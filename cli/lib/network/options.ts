import { RlError } from "../errors";

export interface SlirpOptions {
  mtu: number;
  /** The network slirp4netns emulates, e.g. 10.0.2.0/24: the container is .100, the host .2, DNS .3. */
  cidr: string;
  allowHostLoopback: boolean;
  enableIpv6: boolean;
  /** Who forwards published ports: rl's own forwarder, or slirp4netns through its API socket. */
  portHandler: "rl" | "slirp4netns";
}

export type NetworkConfig =
  | { mode: "slirp4netns"; slirp: SlirpOptions }
  | { mode: "none" }
  | { mode: "host" }
  | { mode: "container"; container: string };

export const DEFAULT_SLIRP: SlirpOptions = { mtu: 65520, cidr: "10.0.2.0/24", allowHostLoopback: false, enableIpv6: false, portHandler: "rl" };

const bad = (text: string, why: string) => new RlError(`invalid --network ${JSON.stringify(text)}: ${why}`);

function parseBool(text: string, key: string, value: string): boolean {
  if (value === "true") return true;
  if (value === "false") return false;
  throw bad(text, `${key} must be true or false`);
}

/** The network's base address as 4 octets and its prefix length; only /8 to /25 leave room for .100. */
export function parseCidr(cidr: string): { octets: number[]; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new RlError(`invalid cidr ${JSON.stringify(cidr)}: use A.B.C.D/N`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) throw new RlError(`invalid cidr ${JSON.stringify(cidr)}: an octet is above 255`);
  if (prefix < 8 || prefix > 25) throw new RlError(`invalid cidr ${JSON.stringify(cidr)}: the prefix must be between 8 and 25`);
  const value = octets.reduce((v, o) => v * 256 + o, 0);
  const base = value - (value % 2 ** (32 - prefix));
  if (base !== value) throw new RlError(`invalid cidr ${JSON.stringify(cidr)}: host bits are set (the network is ${addr(base)}/${prefix})`);
  return { octets, prefix };
}

function addr(v: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join(".");
}

/** The addresses slirp4netns gives a network: container .100, gateway (the host) .2, DNS .3. */
export function slirpAddresses(cidr: string): { container: string; gateway: string; dns: string; prefix: number } {
  const { octets, prefix } = parseCidr(cidr);
  const base = octets.reduce((v, o) => v * 256 + o, 0);
  return { container: addr(base + 100), gateway: addr(base + 2), dns: addr(base + 3), prefix };
}

/** `--network slirp4netns[:k=v,...] | none | host | container:NAME` (podman's spelling). */
export function parseNetwork(text: string): NetworkConfig {
  const colon = text.indexOf(":");
  const mode = colon < 0 ? text : text.slice(0, colon);
  const rest = colon < 0 ? "" : text.slice(colon + 1);
  switch (mode) {
    case "none":
    case "host":
      if (rest) throw bad(text, `${mode} takes no options`);
      return { mode };
    case "container":
      if (!rest) throw bad(text, "container: needs a container name or id");
      return { mode: "container", container: rest };
    case "slirp4netns":
    case "": {
      if (mode === "") throw bad(text, "use slirp4netns, none, host or container:NAME");
      const slirp = { ...DEFAULT_SLIRP };
      for (const kv of rest ? rest.split(",") : []) {
        const eq = kv.indexOf("=");
        const key = eq < 0 ? kv : kv.slice(0, eq);
        const value = eq < 0 ? "" : kv.slice(eq + 1);
        switch (key) {
          case "allow_host_loopback": slirp.allowHostLoopback = parseBool(text, key, value); break;
          case "enable_ipv6": slirp.enableIpv6 = parseBool(text, key, value); break;
          case "mtu": {
            const n = Number(value);
            if (!/^\d+$/.test(value) || n < 68 || n > 65520) throw bad(text, "mtu must be a number from 68 to 65520");
            slirp.mtu = n;
            break;
          }
          case "cidr": parseCidr(value); slirp.cidr = value; break;
          case "port_handler":
            if (value !== "rl" && value !== "slirp4netns") throw bad(text, "port_handler must be rl or slirp4netns");
            slirp.portHandler = value;
            break;
          default: throw bad(text, `unknown option ${JSON.stringify(key)} (allow_host_loopback, mtu, cidr, enable_ipv6, port_handler)`);
        }
      }
      return { mode: "slirp4netns", slirp };
    }
    default:
      throw bad(text, "use slirp4netns, none, host or container:NAME");
  }
}

/** How a mode is shown and stored: "slirp4netns", "none", "host", "container:ID". */
export function networkModeName(n: NetworkConfig): string {
  return n.mode === "container" ? `container:${n.container}` : n.mode;
}
