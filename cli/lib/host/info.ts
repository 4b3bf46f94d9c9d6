import { paths } from "../paths";
import { getStartedFrom } from "../started-from";
import { containerStart } from "../sys/executor";
import { storeLogMode } from "../store/db";
import { engineChoice, type EngineChoice } from "../image/digest-engine";
import type { StorageDriver } from "../rootfs/driver";
import { cgroupInfo, type CgroupInfo } from "./cgroups";
import { fuseOverlayfsInfo, type FuseOverlayfsInfo } from "./fuse-overlayfs";
import { idMappingInfo, type IdMappingInfo } from "./id-mapping";
import { networkInfo, type NetworkInfo } from "./network";
import { overlayInfo, type OverlayInfo } from "./overlay";
import { probeKernelOverlay } from "./overlay-probe";
import { systemInfo, type SystemInfo } from "./system";
import { readUsernsSysctls, userNamespaceInfo, type UserNamespaceInfo } from "./user-namespaces";
import { seccompInfo, type SeccompInfo } from "../security/seccomp-info";

/** What this host offers rl. Every key is always present (null when unknown): `rl info --format json` is an interface. */
export interface HostInfo {
  host: SystemInfo;
  userNamespaces: UserNamespaceInfo;
  idMapping: IdMappingInfo;
  storage: {
    /** What `rl run` picks by default: the first that works of overlay, fuse-overlayfs, vfs. */
    driver: StorageDriver;
    overlay: OverlayInfo;
    fuseOverlayfs: FuseOverlayfsInfo;
  };
  /** SHA-256 engines: measured speed of each and the one in use. */
  digest: EngineChoice;
  network: NetworkInfo;
  cgroups: CgroupInfo;
  paths: { data: string; runtime: string };
  /** How this rl started: "executable PATH", or "sources (why the executable is not used)". */
  start: string;
  /** How a container's first process starts: "executor program PATH", or "a copy of rl (why)". */
  containerStart: string;
  /** When the store's SQLite log is checkpointed: past a size, or at each command's end (why). */
  storeLog: string;
  /** Whether containers get the default seccomp filter. */
  seccomp: SeccompInfo;
}

export function defaultDriver(overlayOk: boolean, fuseOk: boolean): StorageDriver {
  return overlayOk ? "overlay" : fuseOk ? "fuse-overlayfs" : "vfs";
}

export async function hostInfo(): Promise<HostInfo> {
  const host = systemInfo();
  const [probe, fuseOverlayfs, network] = await Promise.all([probeKernelOverlay(), fuseOverlayfsInfo(), networkInfo()]);
  const overlay = overlayInfo(probe, host.kernel);
  const p = paths();
  return {
    host,
    userNamespaces: userNamespaceInfo(readUsernsSysctls(), probe.userns),
    idMapping: idMappingInfo(),
    storage: { driver: defaultDriver(overlay.ok, fuseOverlayfs.ok), overlay, fuseOverlayfs },
    digest: engineChoice(),
    network,
    cgroups: cgroupInfo(process.getuid!()),
    paths: { data: p.data, runtime: p.runtime },
    start: getStartedFrom(),
    containerStart: containerStart(),
    storeLog: storeLogMode(),
    seccomp: seccompInfo(),
  };
}
