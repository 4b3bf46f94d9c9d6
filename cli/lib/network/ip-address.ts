/** Dotted-quad IPv4: four numbers 0-255. */
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** An IPv4 address in dotted-quad form (`192.0.2.1`). */
export function isIpv4Address(text: string): boolean {
  return IPV4.test(text);
}

/** An IPv6 literal without brackets or zone (`::1`, `2001:db8::1`, `::ffff:192.0.2.1`): the URL parser checks it without loading node:net. */
export function isIpv6Address(text: string): boolean {
  if (!text.includes(":") || !/^[0-9a-fA-F:.]+$/.test(text)) return false;
  return URL.canParse(`http://[${text}]/`);
}

/** An IPv4 or IPv6 address, as `-p`, `--add-host` and `--dns` take them. */
export function isIpAddress(text: string): boolean {
  return isIpv4Address(text) || isIpv6Address(text);
}
