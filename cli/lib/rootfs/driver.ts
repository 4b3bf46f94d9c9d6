import { chmodSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Op } from "../runtime/ops";

export type StorageDriver = "overlay" | "fuse-overlayfs" | "vfs";

export function parseDriver(text: string): StorageDriver {
  if (text === "overlay" || text === "fuse-overlayfs" || text === "vfs") return text;
  throw new RlError(`unknown storage driver ${JSON.stringify(text)}: use overlay, fuse-overlayfs or vfs`);
}

export interface RootfsLayout {
  /** Layer directories, bottom first. */
  layerDirs: string[];
  layersRoot: string;
  containerDir: string;
}

export const rootfsDir = (containerDir: string, driver: StorageDriver) => join(containerDir, driver === "vfs" ? "rootfs" : "merged");

/**
 * Ops that make the container's root filesystem appear at rootfsDir(): run in the child's new mount
 * namespace, so the mount disappears with the container.
 */
export function rootfsOps(driver: StorageDriver, l: RootfsLayout, fuseOverlayfs?: string): Op[] {
  const target = rootfsDir(l.containerDir, driver);
  const upper = join(l.containerDir, "upper"), work = join(l.containerDir, "work");
  if (driver === "vfs") return [{ op: "mount", src: target, target, fstype: "", flags: 4096 | 16384, data: "" }];
  const lowerFirstTop = [...l.layerDirs].reverse();
  if (driver === "overlay") {
    // Relative lower dirs (from chdir into the layer store) keep the options under the one-page limit.
    const lower = lowerFirstTop.map((d) => d.slice(l.layersRoot.length + 1)).join(":");
    return [
      { op: "chdir", path: l.layersRoot },
      { op: "mount", src: "overlay", target, fstype: "overlay", flags: 0, data: `lowerdir=${lower},upperdir=${upper},workdir=${work},userxattr` },
    ];
  }
  if (!fuseOverlayfs) throw new RlError("fuse-overlayfs is not installed (Debian/Ubuntu: apt install fuse-overlayfs)");
  return [{ op: "spawnWait", argv: [fuseOverlayfs, "-o", `lowerdir=${lowerFirstTop.join(":")},upperdir=${upper},workdir=${work}`, target] }];
}

/**
 * Make a container's directory removable in one pass: kernel overlay leaves workdir/work with mode 000,
 * which would make the first rm -r fail halfway and walk the tree again.
 */
export function unlockForRemoval(containerDir: string): void {
  try {
    chmodSync(join(containerDir, "work/work"), 0o700);
  } catch {}
}
