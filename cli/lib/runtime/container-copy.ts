import type { Database } from "bun:sqlite";
import { fstatSync, readlinkSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import type { CopyEnd, CopyJob } from "../rootfs/copy-files";
import { rootfsDir, rootfsOps, type StorageDriver } from "../rootfs/driver";
import { runWorkerJob } from "../rootfs/worker-job";
import { mappedSize, type IdMapping } from "../security/idmap";
import { warnShrunk } from "../store/export";
import { findImage, layerDir } from "../store/images";
import { withLocks } from "../store/locks";
import { AT_FDCWD, closeFd, O, openat2 } from "../sys/libc";
import { processAlive } from "../sys/pid-start-time";
import { CLONE, MS } from "../sys/clone-flags";
import { containerDir, findContainer, type ContainerRow } from "../store/containers-table";

/** One argument of `cp` as docker reads it: `-` (a tar stream), CONTAINER:PATH, or a host path (absolute, or starting with "." when it holds a ":"). */
export type CopyArg = { stream: true } | { container: string; path: string } | { host: string };

export function parseCopyArg(arg: string): CopyArg {
  if (arg === "-") return { stream: true };
  const colon = arg.indexOf(":");
  if (isAbsolute(arg) || arg.startsWith(".") || colon < 0) return { host: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export interface CopyOptions {
  archive: boolean;
  followLink: boolean;
  overwrite: boolean;
}

/** How an argument names its end for the job: a container's path from its root, a host path made absolute. */
function endOf(a: CopyArg): CopyEnd {
  if ("stream" in a) return { side: "stream" };
  if ("container" in a) return { side: "container", path: a.path.startsWith("/") ? a.path : `/${a.path}` };
  // Not normalized: a trailing "/" or "/." means something (copy-path.ts).
  return { side: "host", path: isAbsolute(a.host) ? a.host : `${process.cwd()}/${a.host}` };
}

/**
 * `rl cp SRC DEST`: one of them CONTAINER:PATH, the other a host path or - (a tar stream on stdin or
 * stdout). The copy is made by a job in a user namespace with the store's id mapping (copy-files.ts),
 * so files of any of the container's ids can be read and given their owners. A running container's
 * files are reached through its first process's root (/proc/PID/root, opened here: the job's own
 * namespace could not), as its processes see them, volumes included; a stopped one's through a mount of
 * its layers that only the job sees (writes land in its writable layer, as they would have inside).
 */
export async function copyContainerFiles(d: Database, p: Paths, srcArg: string, destArg: string, o: CopyOptions, mapping: IdMapping): Promise<void> {
  const src = parseCopyArg(srcArg), dest = parseCopyArg(destArg);
  if ("container" in src && "container" in dest) throw new RlError("copying between containers is not supported: one of SRC and DEST must be a host path or -");
  const side = "container" in src ? src : "container" in dest ? dest : undefined;
  if (!side) throw new RlError("one of SRC and DEST must be a container's path (CONTAINER:PATH)");
  if (!side.container) throw new RlError(`invalid container path ${JSON.stringify(side === src ? srcArg : destArg)}: the container's name is missing before ":"`);
  const c = findContainer(d, side.container);
  if (!c) throw new RlError(`no such container: ${side.container}`);
  const job: JobWithoutRoot = { kind: "copy", container: c.name, from: endOf(src), to: endOf(dest), ...o, idLimit: mappedSize(mapping) };
  const r = (c.state === "running" && (await copyRunning(p, c, job, mapping))) || (await copyStopped(d, p, c, job, mapping));
  warnShrunk(c.name, r.changed ?? []);
}

type JobResult = Awaited<ReturnType<typeof runWorkerJob>>;
/** The job but for where the container's root is, which depends on its state. */
type JobWithoutRoot = Omit<CopyJob, "root">;

/**
 * The copy through the root of the running container's first process: opened by rl, whose user owns
 * the container's user namespace (a sibling namespace, the job's, may not open it), and handed to the
 * job. Undefined when that process is gone (the container stopped) or is not in a mount namespace of
 * its own (its rl, while it records an exit): the stopped container's copy then.
 */
async function copyRunning(p: Paths, c: ContainerRow, job: JobWithoutRoot, mapping: IdMapping): Promise<JobResult | undefined> {
  if (!c.pid || !c.pid_start) return undefined;
  let fd: number;
  try {
    fd = openat2(AT_FDCWD, `/proc/${c.pid}/root`, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, 0);
  } catch {
    return undefined;
  }
  try {
    if (!isContainerRoot(c.pid, c.pid_start, fd)) return undefined;
    return await runWorkerJob(p.tmp, { ...job, root: { fd } }, mapping, { passFd: fd });
  } finally {
    closeFd(fd);
  }
}

/** Whether `fd`, opened as /proc/PID/root, is the root of the process recorded (not of a later one with its pid) and not rl's own. */
function isContainerRoot(pid: number, start: string, fd: number): boolean {
  try {
    const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
    // Checked after the open: the descriptor is that process's root, not a later one's with its pid.
    if (!processAlive(pid, start)) return false;
    const own = statSync("/"), its = fstatSync(fd);
    return ns !== readlinkSync("/proc/self/ns/mnt") && (own.dev !== its.dev || own.ino !== its.ino);
  } catch {
    return false; // gone meanwhile
  }
}

/**
 * The copy through a mount of the stopped container's root filesystem (its storage driver's: overlay
 * of its layers and writable layer, fuse-overlayfs, or its vfs copy) in the job's own mount namespace,
 * gone with the job (a new pid namespace ends a fuse-overlayfs daemon with it). One copy at a time per
 * container: two overlay mounts of one writable layer do not mix.
 */
async function copyStopped(d: Database, p: Paths, c: ContainerRow, job: JobWithoutRoot, mapping: IdMapping): Promise<JobResult> {
  if (c.state === "removing") throw new RlError(`container ${c.name} is being removed`);
  if (c.state === "created" && c.pid && c.pid_start && processAlive(c.pid, c.pid_start)) throw new RlError(`container ${c.name} is starting: try again once it runs`);
  const img = findImage(d, c.image_id);
  if (!img) throw new RlError(`the image ${c.image_id.slice(7, 19)} of container ${c.name} is gone`);
  const dir = containerDir(p, c.id);
  const driver = c.driver as StorageDriver;
  const ops = [
    { op: "mount" as const, src: "", target: "/", fstype: "", flags: MS.REC | MS.PRIVATE, data: "" },
    ...rootfsOps(driver, { layerDirs: img.layers.map((l) => layerDir(p, l)), layersRoot: p.layers, containerDir: dir }),
  ];
  return withLocks(p, [{ name: `container-${c.id}`, exclusive: true }], () =>
    runWorkerJob(p.tmp, { ...job, root: { dir: rootfsDir(dir, driver) } }, mapping, { cloneFlags: CLONE.NEWNS | CLONE.NEWPID, ops }),
  );
}
