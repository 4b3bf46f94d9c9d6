import { existsSync } from "node:fs";
import { canReadWrite, failed, firstLineOf, passed, type Check } from "./check";

export interface Slirp4netnsInfo {
  ok: boolean;
  reason: string | null;
  path: string | null;
  /** First line of `slirp4netns --version`. */
  version: string | null;
}

export interface NetworkInfo {
  slirp4netns: Slirp4netnsInfo;
  /** slirp4netns opens it inside the container's network namespace, with the user's own rights. */
  devNetTun: Check;
}

export function devNetTunCheck(exists: boolean, readWritable: boolean, uid: number): Check {
  if (!exists) return failed("/dev/net/tun does not exist (sudo modprobe tun)");
  if (!readWritable) {
    return failed(`/dev/net/tun is not read-writable by uid ${uid} (distributions ship it mode 0666: sudo chmod 666 /dev/net/tun)`);
  }
  return passed();
}

export async function networkInfo(): Promise<NetworkInfo> {
  const devNetTun = devNetTunCheck(existsSync("/dev/net/tun"), canReadWrite("/dev/net/tun"), process.getuid!());
  const path = Bun.which("slirp4netns");
  if (!path) {
    const reason = "slirp4netns is not installed, so containers get no network of their own (Debian/Ubuntu: apt install slirp4netns)";
    return { slirp4netns: { ok: false, reason, path: null, version: null }, devNetTun };
  }
  const version = await firstLineOf([path, "--version"]);
  if (!version) return { slirp4netns: { ok: false, reason: `${path} --version failed (reinstall slirp4netns)`, path, version }, devNetTun };
  return { slirp4netns: { ok: true, reason: null, path, version }, devNetTun };
}
