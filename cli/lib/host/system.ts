import { release } from "node:os";
import { formatPlatform, hostPlatform } from "../image/platform";
import { readText, type ReadText } from "./check";

export interface SystemInfo {
  kernel: string;
  /** PRETTY_NAME from os-release, or null when the host has none. */
  os: string | null;
  platform: string;
  bun: string;
}

export function systemInfo(read: ReadText = readText): SystemInfo {
  return {
    kernel: release(),
    os: osPrettyName(read("/etc/os-release") ?? read("/usr/lib/os-release") ?? ""),
    platform: formatPlatform(hostPlatform()),
    bun: Bun.version,
  };
}

export function osPrettyName(osRelease: string): string | null {
  for (const line of osRelease.split("\n")) {
    const m = /^PRETTY_NAME=(.*)$/.exec(line.trim());
    if (m) return m[1]!.replace(/^(["'])(.*)\1$/, "$2") || null;
  }
  return null;
}
