import { chmodSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { fuseOverlayfsPath, fuseOverlayfsProblem } from "../host/fuse-overlayfs";
import type { Op } from "../sys/ops";

export type StorageDriver = "overlay" | "fuse-overlayfs" | "vfs";

export function parseDriver(text: string, from = "storage driver"): StorageDriver {
  if (text === "overlay" || text === "fuse-overlayfs" || text === "vfs") return text;
  throw new RlError(`unknown ${from} ${JSON.stringify(text)}: use overlay, fuse-overlayfs or vfs`);
}

/**
 * The drivers `run` tries, in order: the one forced (--storage-driver, else RL_STORAGE_DRIVER), else
 * kernel overlay, fuse-overlayfs where it can work here, and a copy.
 */
export function driverCandidates(forced: StorageDriver | undefined): StorageDriver[] {
  if (forced) return [forced];
  const env = process.env.RL_STORAGE_DRIVER;
  if (env) return [parseDriver(env, "RL_STORAGE_DRIVER")];
  return fuseOverlayfsProblem() ? ["overlay", "vfs"] : ["overlay", "fuse-overlayfs", "vfs"];
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
export function rootfsOps(driver: StorageDriver, l: RootfsLayout): Op[] {
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
  const problem = fuseOverlayfsProblem();
  if (problem) throw new RlError(`cannot use the storage driver fuse-overlayfs: ${problem}`);
  // Mounted by a process of the container's namespaces that stays outside its pivoted root (see spawn_wait
  // in helpers/executor.c): it dies with the container's pid namespace.
  return [{ op: "spawnWait", argv: [fuseOverlayfsPath()!, "-o", `lowerdir=${lowerFirstTop.join(":")},upperdir=${upper},workdir=${work}`, target] }];
}

/** Whether `op` is rootfsOps's mount of the root filesystem with overlay or fuse-overlayfs (failing, the next driver is tried). */
export function mountsOverlayRoot(op: Op): boolean {
  return (op.op === "mount" && op.fstype === "overlay") || op.op === "spawnWait";
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
