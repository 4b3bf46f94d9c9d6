import { describe, expect, test } from "bun:test";
import { parseNetwork, slirpAddresses, DEFAULT_SLIRP } from "../../cli/lib/network/options";
import { exposedPorts, formatPort, formatPortsColumn, parsePublish, publishedPorts } from "../../cli/lib/network/ports";
import { hostsFile, parseAddHost, resolvConf } from "../../cli/lib/network/etc-files";
import { isIpAddress, isIpv4Address, isIpv6Address } from "../../cli/lib/network/ip-address";

describe("IP addresses (-p, --add-host, --dns)", () => {
  test.each(["0.0.0.0", "127.0.0.1", "192.0.2.255", "255.255.255.255", "10.0.2.3"])("%s is IPv4", (ip) => {
    expect(isIpv4Address(ip)).toBe(true);
    expect(isIpv6Address(ip)).toBe(false);
    expect(isIpAddress(ip)).toBe(true);
  });
  test.each(["::1", "::", "2001:db8::1", "fe80::a:b:c:d", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "2001:DB8::A"])("%s is IPv6", (ip) => {
    expect(isIpv6Address(ip)).toBe(true);
    expect(isIpv4Address(ip)).toBe(false);
    expect(isIpAddress(ip)).toBe(true);
  });
  test.each(["", "x", "localhost", "dns.example", "256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4 ", " ::1", "[::1]", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "1:::2", ":::", "1.2.3.4:80", "::1/128", "1::2::3"])("%p is no IP address", (ip) => {
    expect(isIpv4Address(ip)).toBe(false);
    expect(isIpv6Address(ip)).toBe(false);
    expect(isIpAddress(ip)).toBe(false);
  });
});

describe("parseNetwork", () => {
  test.each([
    ["slirp4netns", { mode: "slirp4netns", slirp: DEFAULT_SLIRP }],
    ["none", { mode: "none" }],
    ["host", { mode: "host" }],
    ["container:web", { mode: "container", container: "web" }],
    ["slirp4netns:allow_host_loopback=true,mtu=1500", { mode: "slirp4netns", slirp: { ...DEFAULT_SLIRP, allowHostLoopback: true, mtu: 1500 } }],
    ["slirp4netns:cidr=10.5.0.0/16,enable_ipv6=true,port_handler=slirp4netns", { mode: "slirp4netns", slirp: { ...DEFAULT_SLIRP, cidr: "10.5.0.0/16", enableIpv6: true, portHandler: "slirp4netns" } }],
  ])("%s", (text, want) => expect(parseNetwork(text)).toEqual(want as never));

  test.each([
    ["bridge", "use slirp4netns, none, host or container:NAME"],
    ["container:", "needs a container name or id"],
    ["none:x=1", "none takes no options"],
    ["slirp4netns:mtu=0", "mtu must be a number from 68 to 65520"],
    ["slirp4netns:mtu=65521", "mtu must be a number from 68 to 65520"],
    ["slirp4netns:allow_host_loopback=yes", "allow_host_loopback must be true or false"],
    ["slirp4netns:cidr=10.0.2.1/24", "host bits are set (the network is 10.0.2.0/24)"],
    ["slirp4netns:cidr=10.0.2.0/30", "the prefix must be between 8 and 25"],
    ["slirp4netns:port_handler=rootlesskit", "port_handler must be rl or slirp4netns"],
    ["slirp4netns:foo=1", 'unknown option "foo"'],
  ])("%s is refused", (text, msg) => expect(() => parseNetwork(text)).toThrow(msg));

  test("addresses follow the cidr", () => {
    expect(slirpAddresses("10.0.2.0/24")).toEqual({ container: "10.0.2.100", gateway: "10.0.2.2", dns: "10.0.2.3", prefix: 24 });
    expect(slirpAddresses("172.16.0.0/16")).toEqual({ container: "172.16.0.100", gateway: "172.16.0.2", dns: "172.16.0.3", prefix: 16 });
  });
});

describe("parsePublish", () => {
  const m = (hostIp: string, hostPort: number, containerPort: number, proto = "tcp") => ({ hostIp, hostPort, containerPort, proto });
  test.each([
    ["8080:80", [m("", 8080, 80)]],
    ["80", [m("", 0, 80)]],
    ["0.0.0.0:8080:80", [m("0.0.0.0", 8080, 80)]],
    ["127.0.0.1:8080:80/udp", [m("127.0.0.1", 8080, 80, "udp")]],
    ["127.0.0.1::80", [m("127.0.0.1", 0, 80)]],
    ["127.0.0.1:0:80", [m("127.0.0.1", 0, 80)]],
    [":8080:80", [m("", 8080, 80)]],
    ["[::1]:8080:80", [m("::1", 8080, 80)]],
    ["[::]::53/udp", [m("::", 0, 53, "udp")]],
    ["[fd00::1:2]:9000-9001:90-91", [m("fd00::1:2", 9000, 90), m("fd00::1:2", 9001, 91)]],
    ["[::ffff:127.0.0.1]:8080:80", [m("::ffff:127.0.0.1", 8080, 80)]],
    ["8000-8002:80-82", [m("", 8000, 80), m("", 8001, 81), m("", 8002, 82)]],
    ["90-91/udp", [m("", 0, 90, "udp"), m("", 0, 91, "udp")]],
  ])("%s", (spec, want) => expect(parsePublish(spec)).toEqual(want as never));

  test.each([
    ["8080:80/sctp", "the protocol must be tcp or udp"],
    ["8000-8001:80", "the host range has 2 ports, the container range 1"],
    ["70000:80", "70000 is not between 0 and 65535"],
    ["8080:0", "0 is not between 1 and 65535"],
    ["82-80", "the range 82-80 ends before it starts"],
    ["x:8080:80", '"x" is not an IPv4 address (an IPv6 one goes in brackets)'],
    ["256.1.1.1:8080:80", '"256.1.1.1" is not an IPv4 address'],
    ["a:b:c:d", "use [HOSTIP:][HOSTPORT:]CONTAINERPORT (an IPv6 host address in brackets: [::1]:8080:80)"],
    ["::1:8080:80", "use [HOSTIP:][HOSTPORT:]CONTAINERPORT"],
    ["[::1]:80", "use [HOSTIP:][HOSTPORT:]CONTAINERPORT"],
    ["[::1]8080:80", "an IPv6 host address is written [ADDRESS]:HOSTPORT:CONTAINERPORT"],
    ["[::1:8080:80", "an IPv6 host address is written [ADDRESS]:HOSTPORT:CONTAINERPORT"],
    ["[127.0.0.1]:8080:80", '"127.0.0.1" is not an IPv6 address'],
    ["[fe80::1%eth0]:8080:80", '"fe80::1%eth0" is not an IPv6 address'],
    ["[1:2:3:4:5:6:7:8:9]:8080:80", '"1:2:3:4:5:6:7:8:9" is not an IPv6 address'],
    ["8080:http", 'the container port "http" is not a port or a range'],
  ])("%s is refused", (spec, msg) => expect(() => parsePublish(spec)).toThrow(msg));

  test.each([
    ["127.0.0.1:18099:80", "an exposed port is PORT[/tcp|udp]"],
    ["18099:80/tcp", "an exposed port is PORT[/tcp|udp]"],
    ["[::1]:80", "an exposed port is PORT[/tcp|udp]"],
    ["80/tcp/udp", "an exposed port is PORT[/tcp|udp]"],
    ["9000/sctp", "rl publishes tcp and udp ports only"],
    ["80/http", 'unknown protocol "http"'],
    ["0", "0 is not between 1 and 65535"],
    ["70000/udp", "70000 is not between 1 and 65535"],
    ["90-80", "ends before it starts"],
  ])("an image exposing %s is refused, with -P or without", (key, msg) => {
    expect(() => publishedPorts([], true, { [key]: {} })).toThrow(msg);
    expect(() => publishedPorts(["8080:80"], false, { [key]: {} })).toThrow(`the image exposes ${JSON.stringify(key)}`);
  });

  test("an exposed range and an upper-case protocol are podman's EXPOSE too", () => {
    expect(exposedPorts({ "7000-7002/UDP": {} }).map(formatPort)).toEqual(["7000/udp -> 0.0.0.0:0", "7001/udp -> 0.0.0.0:0", "7002/udp -> 0.0.0.0:0"]);
  });

  test("-P adds exposed ports that -p did not publish; a host port twice is an error", () => {
    expect(exposedPorts({ "80/tcp": {}, "53/udp": {}, "8080": {} }).sort((a, b) => a.containerPort - b.containerPort)).toEqual([
      { hostIp: "", hostPort: 0, containerPort: 53, proto: "udp" },
      { hostIp: "", hostPort: 0, containerPort: 80, proto: "tcp" },
      { hostIp: "", hostPort: 0, containerPort: 8080, proto: "tcp" },
    ]);
    expect(publishedPorts(["9000:80"], true, { "80/tcp": {}, "443/tcp": {} }).map(formatPort)).toEqual(["80/tcp -> 0.0.0.0:9000", "443/tcp -> 0.0.0.0:0"]);
    expect(publishedPorts(["9000:80"], false, { "443/tcp": {} })).toHaveLength(1);
    expect(() => publishedPorts(["9000:80", "9000:81"], false, undefined)).toThrow("host port 9000/tcp is published twice");
    expect(publishedPorts(["9000:80", "9000:80/udp"], false, undefined)).toHaveLength(2);
  });

  test("docker's output formats (every address shown as 0.0.0.0, IPv6 in brackets)", () => {
    const p = [
      { hostIp: "", hostPort: 8080, containerPort: 80, proto: "tcp" as const },
      { hostIp: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp" as const },
      { hostIp: "::1", hostPort: 8443, containerPort: 443, proto: "tcp" as const },
    ];
    expect(p.map(formatPort)).toEqual(["80/tcp -> 0.0.0.0:8080", "53/udp -> 127.0.0.1:5353", "443/tcp -> [::1]:8443"]);
    expect(formatPortsColumn(p)).toBe("0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp, [::1]:8443->443/tcp");
  });
});

describe("resolv.conf and hosts", () => {
  const host = "# generated\nsearch corp.example lab.example\nnameserver 127.0.0.53\nnameserver 192.0.2.1\noptions edns0 trust-ad\n";
  const none = { dns: [], dnsSearch: [], dnsOption: [], addHost: [] };
  const slirp = parseNetwork("slirp4netns");

  test("slirp4netns: its DNS, then the host's reachable resolvers (not loopback; IPv6 with enable_ipv6), the host's search and options", () => {
    expect(resolvConf(host, slirp, none)).toBe("search corp.example lab.example\nnameserver 10.0.2.3\nnameserver 192.0.2.1\noptions edns0 trust-ad\n");
    const v6 = "nameserver ::1\nnameserver 2001:db8::53\nnameserver 127.0.0.1\n";
    expect(resolvConf(v6, slirp, none)).toBe("nameserver 10.0.2.3\n");
    expect(resolvConf(v6, parseNetwork("slirp4netns:enable_ipv6=true"), none)).toBe("nameserver 10.0.2.3\nnameserver 2001:db8::53\n");
    expect(resolvConf(host, parseNetwork("slirp4netns:cidr=10.7.0.0/24"), none)).toContain("nameserver 10.7.0.3\n");
  });
  test("host: the host's file as it is", () => expect(resolvConf(host, { mode: "host" }, none)).toBe(host));
  test("none: loopback resolvers dropped", () => expect(resolvConf(host, { mode: "none" }, none)).toBe("search corp.example lab.example\nnameserver 192.0.2.1\noptions edns0 trust-ad\n"));
  test("--dns, --dns-search, --dns-option replace their part; --dns-search . clears", () => {
    expect(resolvConf(host, slirp, { ...none, dns: ["192.0.2.9"], dnsSearch: ["."], dnsOption: ["ndots:3"] })).toBe("nameserver 192.0.2.9\noptions ndots:3\n");
    expect(() => resolvConf(host, slirp, { ...none, dns: ["dns.example"] })).toThrow('invalid --dns "dns.example": not an IP address');
    expect(() => resolvConf(host, slirp, { ...none, dns: ["192.0.2.300"] })).toThrow('invalid --dns "192.0.2.300": not an IP address');
    expect(resolvConf(host, slirp, { ...none, dns: ["2001:db8::53", "192.0.2.9"] })).toContain("nameserver 2001:db8::53\nnameserver 192.0.2.9\n");
  });

  test("hosts: container address, host.containers.internal only with allow_host_loopback, --add-host", () => {
    expect(hostsFile("", slirp, "h n", ["db:192.0.2.7"])).toBe("127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost ip6-localhost ip6-loopback\n192.0.2.7\tdb\n10.0.2.100\th n\n");
    expect(hostsFile("", parseNetwork("slirp4netns:allow_host_loopback=true"), "h", [])).toContain("10.0.2.2\thost.containers.internal\n");
    expect(hostsFile("", { mode: "none" }, "h", [])).toContain("127.0.1.1\th\n");
    expect(hostsFile("10.1.1.1 gw\n", { mode: "host" }, "h", [])).toBe("10.1.1.1 gw\n127.0.1.1\th\n");
  });

  test.each([
    ["db:192.0.2.7", { name: "db", ip: "192.0.2.7" }],
    ["v6:2001:db8::1", { name: "v6", ip: "2001:db8::1" }],
    ["v6b:[::1]", { name: "v6b", ip: "::1" }],
  ])("--add-host %s", (text, want) => expect(parseAddHost(text)).toEqual(want));
  test.each(["nocolon", ":1.2.3.4", "db:notanip", "bad name:1.2.3.4", "db:256.1.1.1", "db:1::2::3", "db:[fe80::1%eth0]"])("--add-host %s is refused", (text) => expect(() => parseAddHost(text)).toThrow("use NAME:IP"));
});
