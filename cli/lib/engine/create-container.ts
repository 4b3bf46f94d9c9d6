import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { RlError, withContext } from "../errors";
import type { Paths } from "../paths";
import { transaction } from "../store/db";
import type { StoredImage } from "../store/images";
import { currentMapping, type IdMapping } from "../security/idmap";
import { usernsMapping } from "../security/userns";
import { driverCandidates, type StorageDriver } from "../rootfs/driver";
import { ContainerNetwork } from "../network/attach";
import { parseNetwork, type NetworkConfig } from "../network/options";
import type { PortMapping } from "../network/ports";
import { saveNetwork } from "../network/store";
import { checkUsernsNetwork, usernsDrivers } from "../runtime/userns-rootfs";
import { parseSysctls } from "../runtime/process-options";
import { cloneChild, discardChild, type Child, type DetachedOutput, type Namespaces } from "../runtime/container-process";
import { exitFilePath, healthFilePath, logPath } from "../store/exit-file";
import { rlCommand } from "../runtime/rl-command";
import { claimForStart, containerRunDir, insertContainer, type ContainerRow } from "../store/containers-table";
import { storedConfig } from "../runtime/stored-config";
import { processArgs } from "../runtime/spec";
import { checkContainerName, randomId, randomName } from "../store/names";
import { parseMountSpecs } from "../runtime/mounts";
import type { Spec } from "../runtime/spec";
import { parseLimits, type Limits } from "../runtime/cgroup/limits";
import { cgroupParent } from "../runtime/cgroup/container-cgroup";
import { checkRunOptions } from "../runtime/check-run-options";
import type { RunOptions } from "../runtime/run-options";
import { pauseForTests } from "../test-pause";
import { imageFor, storedImage } from "./image-for";
import type { Session } from "./session";
import { checkJoinedDns, namespacesFor, portsFor, resolveNetwork, type ResolvedNetwork } from "./resolve-network";

/** A container's options checked and turned into what its creation and start need, before any side effect. */
interface Prepared {
  o: RunOptions;
  p: Paths;
  id: string;
  userMounts: Spec["mounts"];
  limits: Limits;
  /** The delegated cgroup its own goes under, when it has limits. */
  cgParent: string | null;
  /** The store's id map (for the jobs that write it) and the container's own (--userns). */
  mapping: IdMapping;
  idmap: IdMapping;
  /** --network as given (container: is resolved once the store is open). */
  early: NetworkConfig;
  /** The storage drivers to try, best first (a stored container keeps its own). */
  candidates: StorageDriver[];
  /** How its monitor keeps a detached container's output and end. */
  detached: DetachedOutput | undefined;
}

function prepare(options: RunOptions, p: Paths, existing: ContainerRow | undefined): Prepared {
  const o = checkRunOptions(options);
  if (o.name !== undefined && !existing) checkContainerName(o.name);
  // Checked before any side effect: a refused mount target leaves nothing behind.
  const userMounts = parseMountSpecs(o.volumes, o.tmpfs, o.mounts);
  // Checked before anything is created: a limit this host cannot enforce is an error, never ignored.
  const limits = parseLimits(o.limits);
  const cgParent = cgroupParent(limits, process.getuid!());
  void p.runtime; // checked (the user's alone) before anything starts
  const mapping = currentMapping();
  const idmap = usernsMapping(o.userns, mapping);
  checkUsernsNetwork(o.userns, mapping, o.network);
  parseSysctls(o.sysctls, o.network === "host");
  const early = parseNetwork(o.network);
  const id = existing?.id ?? randomId();
  const candidates = existing ? [existing.driver as StorageDriver] : idmap.lines ? usernsDrivers(o.storageDriver) : driverCandidates(o.storageDriver);
  return { o, p, id, userMounts, limits, cgParent, mapping, idmap, early, candidates, detached: detachedOutput(o, p, id) };
}

/** How a detached container's monitor keeps its output and its end (see cloneChild). */
function detachedOutput(o: RunOptions, p: Paths, id: string): DetachedOutput | undefined {
  if (!o.detach) return undefined;
  const rotation = o.logOpts ?? { maxSize: 0, maxFiles: 1 };
  return { log: o.logDriver === "none" ? "" : logPath(p, id), logMaxSize: rotation.maxSize, logMaxFiles: rotation.maxFiles, healthIntervalMs: o.health?.intervalMs ?? 0, exitFile: exitFilePath(p, id), attachDir: containerRunDir(p, id), cleanup: [...rlCommand(), "__cleanup", id] };
}

/** Its namespaces as cloned: with a cgroup of its own, the process enters its cgroup namespace once moved there. */
export function cloneNamespaces(c: { cgParent: string | null }, ns: Namespaces): Namespaces {
  return c.cgParent ? ns.filter((n) => n.type !== "cgroup") : ns;
}

/** What the store says of it: its image, its network (another container's for container:), its ports, its record. */
async function lookUp(prep: Prepared, d: Database, existing: ContainerRow | undefined, name: string) {
  const { o, p } = prep;
  const img = existing ? storedImage(d, existing) : await withContext(`use image ${o.image}`, () => imageFor(d, p, o.image, o.imageOptions, prep.mapping));
  const net = resolveNetwork(d, o.network);
  checkJoinedDns(o, net);
  const ports = portsFor(o, net, img.config.config?.ExposedPorts);
  const record = { id: prep.id, name, image_id: img.id, image_name: o.image, command: JSON.stringify(processArgs(img.config.config, o)), driver: prep.candidates[0]!, auto_remove: o.rm ? 1 : 0, created: Date.now(), config: storedConfig(o) };
  return { img, net, ports, record };
}

/** `rl create`: record a container without running it (its ports are bound, its files made, when it starts); its id. */
export async function recordContainer(options: RunOptions, s: Session): Promise<string> {
  const prep = prepare(options, s.p, undefined);
  const { o, p, id } = prep;
  const d = await s.swept();
  const { net, ports, record } = await lookUp(prep, d, undefined, o.name ?? randomName());
  transaction(d, p.db, () => {
    insertContainer(d, p, record, { generated: o.name === undefined, createOnly: true });
    saveNetwork(d, p, id, { config: net.config, ports, helpers: [] });
  }, { transient: true });
  return id;
}

/** A container recorded (or a stopped one claimed) for a start, its host ports bound: what startCreated starts. */
export interface Created extends Prepared {
  d: Database;
  name: string;
  img: StoredImage;
  net: ResolvedNetwork;
  ports: PortMapping[];
  network: ContainerNetwork;
  /** Started again (rl start): the stored container. */
  existing?: ContainerRow;
  /** Its first process, cloned early: its id maps are written while the rest is done. */
  child?: Child;
}

/**
 * Record a container to start now, or claim a stopped one (`existing`, started again with its stored
 * options), and bind its host ports. Its first process is cloned first, so that newuidmap and newgidmap
 * run while the image is found and the container recorded (joining another container's network needs
 * that one's record: cloned later then). On failure nothing is left.
 */
export async function createContainer(options: RunOptions, s: Session, existing?: ContainerRow): Promise<Created> {
  const prep = prepare(options, s.p, existing);
  const { o, p, id, early, idmap, detached } = prep;
  let child: Child | undefined;
  if (early.mode !== "container") child = await cloneChild(cloneNamespaces(prep, namespacesFor({ config: early, effective: early })), o, idmap, early.mode === "slirp4netns", detached);
  let network: ContainerNetwork | undefined;
  let name = existing?.name ?? o.name ?? randomName();
  try {
    const d = await s.swept();
    const { img, net, ports, record } = await lookUp(prep, d, existing, name);
    network = new ContainerNetwork(net.config, ports, containerRunDir(p, id));
    network.bindPorts();
    child ??= await cloneChild(cloneNamespaces(prep, namespacesFor(net)), o, idmap, net.config.mode === "slirp4netns", detached);
    pauseForTests("RL_TEST_PAUSE_BEFORE_INSERT");
    transaction(d, p.db, () => {
      if (!existing) name = insertContainer(d, p, record, { generated: o.name === undefined });
      else if (!claimForStart(d, p, id)) throw new RlError(`cannot start container ${name}: it is not stopped (running, or being removed)`);
      // How its last run ended is no longer how it is.
      if (existing) for (const f of [exitFilePath(p, id), healthFilePath(p, id)]) rmSync(f, { force: true });
      saveNetwork(d, p, id, { config: net.config, ports, helpers: [] });
    }, { transient: true });
    return { ...prep, d, name, img, net, ports, network, existing, child };
  } catch (err) {
    network?.closeListeners();
    if (child) await discardChild(child);
    throw err;
  }
}
