import { existsSync } from "node:fs";
import { canReadWrite, failed, outputOf, passed, type Check } from "./check";

export interface FuseOverlayfsInfo {
  ok: boolean;
  reason: string | null;
  path: string | null;
  version: string | null;
  devFuse: Check;
}

export function devFuseCheck(exists: boolean, readWritable: boolean, uid: number): Check {
  if (!exists) return failed("/dev/fuse does not exist (sudo modprobe fuse)");
  if (!readWritable) {
    return failed(`/dev/fuse is not read-writable by uid ${uid} (distributions ship it mode 0666: sudo chmod 666 /dev/fuse)`);
  }
  return passed();
}

const NOT_INSTALLED = "fuse-overlayfs is not installed (Debian/Ubuntu: apt install fuse-overlayfs)";
const devFuseHere = () => devFuseCheck(existsSync("/dev/fuse"), canReadWrite("/dev/fuse"), process.getuid!());

/** fuse-overlayfs as `rl run` finds it: on PATH, as podman does. */
export const fuseOverlayfsPath = (): string | undefined => Bun.which("fuse-overlayfs", { PATH: process.env.PATH ?? "" }) ?? undefined;

/** Why `rl run` cannot use fuse-overlayfs here (it is not on PATH, /dev/fuse is unusable), or undefined. */
export function fuseOverlayfsProblem(): string | undefined {
  if (!fuseOverlayfsPath()) return NOT_INSTALLED;
  return devFuseHere().reason ?? undefined;
}

/** The binary as `rl run` finds it (PATH), and the device it needs. */
export async function fuseOverlayfsInfo(): Promise<FuseOverlayfsInfo> {
  const path = fuseOverlayfsPath();
  const devFuse = devFuseHere();
  if (!path) {
    return { ok: false, reason: NOT_INSTALLED, path: null, version: null, devFuse };
  }
  // It prints fusermount3's version first, then "fuse-overlayfs: version 1.10".
  const out = await outputOf([path, "--version"]);
  const version = /fuse-overlayfs: version (\S+)/.exec(out ?? "")?.[1] ?? null;
  return { ok: devFuse.ok, reason: devFuse.reason, path, version, devFuse };
}
