import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { RlError, withContext } from "../errors";
import { debug, warnOnce } from "../log";
import { paths, type Paths } from "../paths";
import { openDb, transaction } from "../store/db";
import { findImage, layerDir, type StoredImage } from "../store/images";
import { parseImageRef } from "../image/reference";
import { wantedPlatform } from "../image/platform";
import { imageByPolicy, type PullPolicy } from "../registry/pull-policy";
import type { RegistryOptions } from "../registry/options";
import { currentMapping, idLines, type IdMapping } from "../security/idmap";
import { usernsMapping, usernsText, type UsernsMode } from "../security/userns";
import { checkUsernsNetwork, keepIdUser, setupAsRoot, usernsCopy, usernsDrivers } from "./userns-rootfs";
import { parseSysctls, resolveGroupAdd, type DeviceBind, type GroupAdd, type Rlimit } from "./process-options";
import { adjustCaps } from "../security/capabilities";
import { containerSecurity } from "../security/container-security";
import { seccompProgram } from "../security/seccomp-program";
import type { SecurityOpts } from "../security/security-opts";
import { driverCandidates, mountsOverlayRoot, rootfsDir, rootfsOps, type StorageDriver } from "../rootfs/driver";
import { readImageFile } from "../rootfs/image-file";
import { runWorkerJob } from "../rootfs/worker-job";
import { killPid } from "../sys/executor";
import { StartError } from "../sys/start-error";
import { pauseForTests } from "../test-pause";
import { cloneChild, discardChild, startChild, type Child, type DetachedOutput, type Namespaces, type Started } from "./container-process";
import type { Monitor } from "../sys/monitor";
import { exitFilePath, healthFilePath, logPath } from "../store/exit-file";
import { rlCommand } from "./rl-command";
import type { HealthConfig } from "./health-options";
import type { LogDriver, LogOptions } from "./log-options";
import type { RestartPolicy } from "./restart-policy";
import { claimForStart, containerDir, containerRunDir, findContainer, forgetPid, insertContainer, markExited, markRunning, recordCommand, recordMonitor, type ContainerRow } from "../store/containers-table";
import { removeContainer } from "./remove-container";
import { sweepStale } from "./sweep-stale";
import { storedConfig } from "./stored-config";
import { defaultHostname, writeContainerFiles } from "./container-files";
import { ContainerNetwork } from "../network/attach";
import { parseNetwork, type NetworkConfig } from "../network/options";
import { formatHostAddress, publishedPorts, type PortMapping } from "../network/ports";
import { clearHelpers, loadNetwork, saveNetwork } from "../network/store";
import type { DnsOptions } from "../network/etc-files";
import { containerHostname } from "./outer-container";
import { planOps } from "./plan";
import { processArgs, processEnv, type Spec } from "./spec";
import { checkContainerName, randomId, randomName } from "../store/names";
import { checkUserMapped, resolveUser } from "./user";
import { attachStdio, detachStdio } from "./attach-stdio";
import { forwardSignals } from "./signal-forwarding";
import { byDepth, parseMountSpecs } from "./mounts";
import { attachVolumes, chownVolumes, dropVolumes, recordedMounts, type AttachedVolumes } from "./volume-mounts";
import { hostInitBinary, INIT_PATH } from "./init-binary";
import { parseLimits, type LimitFlags } from "./cgroup/limits";
import { cgroupParent, createContainerCgroup, recordOomKill, removeContainerCgroup } from "./cgroup/container-cgroup";
import { applyLimits, cgroupNamespaceFirst, withCgroupMount, withLimits } from "./cgroup/container-setup";
import { writeSpec } from "./container-spec";

export interface RunOptions {
  image: string;
  command: string[];
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  volumes: string[];
  tmpfs: string[];
  /** --mount type=bind|volume|tmpfs,… */
  mounts?: string[];
  /** --volumes-from CTR[:ro|rw] */
  volumesFrom?: string[];
  readOnly: boolean;
  rm: boolean;
  /** -d: the container runs on under its monitor; rl prints its id and returns. */
  detach?: boolean;
  /** --health-cmd and the rest: run by a detached container's monitor every interval. */
  health?: HealthConfig;
  /** --restart: what the monitor's exit command does when a detached container ends. */
  restart?: RestartPolicy;
  /** Where a detached container's output goes, and its rotation. */
  logDriver?: LogDriver;
  logOpts?: LogOptions;
  name?: string;
  interactive: boolean;
  tty: boolean;
  init: boolean;
  /** `--network`: slirp4netns[:options] (the default), none, host or container:NAME. */
  network: string;
  publish: string[];
  publishAll: boolean;
  dns: DnsOptions;
  /** Where the image comes from when it must be pulled. */
  imageOptions: ImageOptions;
  storageDriver?: StorageDriver;
  capAdd: string[];
  capDrop: string[];
  /** --security-opt, parsed. */
  security: SecurityOpts;
  privileged: boolean;
  /** --memory, --cpus, --pids-limit and the other resource flags. */
  limits: LimitFlags;
  userns: UsernsMode;
  ulimits: Rlimit[];
  umask: number;
  groupAdd: GroupAdd;
  /** --sysctl KEY=VALUE, checked against the network once it is known. */
  sysctls: string[];
  devices: DeviceBind[];
}

/** How a detached container's monitor keeps its output and its end (see cloneChild). */
function detachedOutput(o: RunOptions, p: Paths, id: string): DetachedOutput | undefined {
  if (!o.detach) return undefined;
  const rotation = o.logOpts ?? { maxSize: 0, maxFiles: 1 };
  return { log: o.logDriver === "none" ? "" : logPath(p, id), logMaxSize: rotation.maxSize, logMaxFiles: rotation.maxFiles, healthIntervalMs: o.health?.intervalMs ?? 0, exitFile: exitFilePath(p, id), cleanup: [...rlCommand(), "__cleanup", id] };
}

/** How `run` gets its image from a registry (--pull, --tls-verify, --creds, --authfile, -q). */
export interface ImageOptions extends RegistryOptions {
  platform?: string;
  os?: string;
  arch?: string;
  variant?: string;
  pull?: PullPolicy;
  quiet?: boolean;
}

/** Get the image named by the user: from the store, read from a transport, or pulled from a registry. */
export async function imageFor(d: Database, p: Paths, text: string, o: ImageOptions, mapping: IdMapping): Promise<StoredImage> {
  const ref = parseImageRef(text);
  const want = wantedPlatform(o);
  if (ref.transport === "store" || ref.transport === "docker") return imageByPolicy(d, p, ref.name, mapping, o);
  // Reading transports pulls in zlib, tar and WASM: load them only when an image must be read.
  const [{ resolveSource }, { storeImage }] = await Promise.all([import("../image/resolve"), import("../store/store-image")]);
  const resolved = await resolveSource(ref, want);
  const stored = findImage(d, resolved.id);
  if (stored && stored.layers.every((c) => existsSync(layerDir(p, c)))) return stored;
  return storeImage(d, p, resolved, mapping);
}

/** The namespaces of a container: new ones, but for host networking, or another container's network. */
function namespacesFor(net: ResolvedNetwork): Namespaces {
  const namespaces: Namespaces = [{ type: "user" }, { type: "mount" }, { type: "pid" }, { type: "uts" }, { type: "ipc" }, { type: "cgroup" }];
  if (net.config.mode !== "host") namespaces.push({ type: "network" });
  if (net.joinPid !== undefined) {
    namespaces[0] = { type: "user", path: `/proc/${net.joinPid}/ns/user` };
    namespaces[namespaces.length - 1] = { type: "network", path: `/proc/${net.joinPid}/ns/net` };
  }
  return namespaces;
}

function buildSpec(o: RunOptions, namespaces: Namespaces, net: ResolvedNetwork, img: StoredImage, root: string, id: string, name: string, files: Record<string, string>, lowerTopFirst: string[], init: string | undefined, userMounts: Spec["mounts"], idmap: IdMapping): Spec {
  const hostname = o.hostname ?? defaultHostname(id, net.config);
  const userSpec = o.user ?? keepIdUser(o.userns, idmap) ?? img.config.config?.User ?? "";
  const groupFile = readImageFile(lowerTopFirst, "etc/group");
  const user = resolveUser(userSpec || "0", readImageFile(lowerTopFirst, "etc/passwd"), groupFile);
  if (o.user === undefined && o.userns.mode === "keep-id") user.additionalGids = [user.gid]; // as podman: groups=GID
  user.additionalGids.push(...resolveGroupAdd(o.groupAdd.groups, groupFile).filter((g) => !user.additionalGids.includes(g)));
  const security = containerSecurity({ opts: o.security, privileged: o.privileged, capAdd: o.capAdd, capDrop: o.capDrop, uid: user.uid });
  const cwd = o.workdir ?? (img.config.config?.WorkingDir || "/");
  if (!isAbsolute(cwd)) throw new RlError(`the working directory ${JSON.stringify(cwd)} must be an absolute path`);
  const mounts: Spec["mounts"] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // As podman: shallower destinations first, so a volume on /etc does not hide /etc/hosts.
    ...byDepth([...Object.entries(files).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["bind"] })), ...userMounts]),
    ...(init ? [{ destination: INIT_PATH, type: "bind", source: init, options: ["bind", "ro"] }] : []),
    ...o.devices.map((d) => ({ destination: d.path, type: "bind", source: d.source, options: ["bind"] })),
  ];
  const sysctls = parseSysctls(o.sysctls, net.config.mode === "host" || net.effective.mode === "host");
  const args = processArgs(img.config.config, o);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: o.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids, umask: o.umask },
      ...(o.ulimits.length ? { rlimits: o.ulimits } : {}),
      args: init ? [INIT_PATH, "--", ...args] : args,
      env: processEnv(img.config.config, { ...o, tty: o.tty }, hostname, user),
      cwd,
      capabilities: security.capabilities,
      noNewPrivileges: security.noNewPrivileges,
    },
    root: { path: root, readonly: o.readOnly },
    hostname,
    mounts,
    linux: {
      namespaces,
      maskedPaths: security.maskedPaths,
      readonlyPaths: security.readonlyPaths,
      seccomp: security.seccomp,
      ...(Object.keys(sysctls).length ? { sysctl: sysctls } : {}),
      uidMappings: idLines(idmap, "uid").map((l) => ({ containerID: l.inside, hostID: l.outside, size: l.count })),
      gidMappings: idLines(idmap, "gid").map((l) => ({ containerID: l.inside, hostID: l.outside, size: l.count })),
      ...(o.devices.length ? { devices: o.devices } : {}),
    },
    annotations: {
      "io.rl.image": img.id, "io.rl.name": name, "io.rl.seccomp": security.seccompProfile,
      ...(o.userns.mode !== "default" ? { "io.rl.userns": usernsText(o.userns) } : {}),
      ...(o.groupAdd.keepGroups ? { "run.oci.keep_original_groups": "1" } : {}),
      ...(o.groupAdd.groups.length || o.groupAdd.keepGroups ? { "io.rl.group-add": o.groupAdd.keepGroups ? "keep-groups" : o.groupAdd.groups.join("\n") } : {}),
    },
  };
}

interface ResolvedNetwork {
  /** What this container was asked for (container:ID with the full id). */
  config: NetworkConfig;
  /** The network its files (/etc/hosts, resolv.conf) describe: for container:, the other one's. */
  effective: NetworkConfig;
  /** container:: the pid whose namespaces are joined. */
  joinPid?: number;
  /** container:: the container that made the network; its /etc/hosts and resolv.conf are shared. */
  owner?: string;
}

/** Parse --network and, for container:NAME, find that running container and its network. */
function resolveNetwork(d: Database, text: string): ResolvedNetwork {
  const config = parseNetwork(text);
  if (config.mode !== "container") return { config, effective: config };
  const other = findContainer(d, config.container);
  if (!other) throw new RlError(`cannot join the network of container ${config.container}: no such container`);
  if (other.state !== "running" || other.pid === null) throw new RlError(`cannot join the network of container ${config.container}: it is not running`);
  const rec = loadNetwork(d, other.id);
  const chain = rec?.config.mode === "container" ? resolveNetwork(d, `container:${rec.config.container}`) : undefined;
  const effective = chain ? chain.effective : (rec?.config ?? { mode: "none" as const });
  if (effective.mode === "host") return { config: { mode: "host" }, effective };
  return { config: { mode: "container", container: other.id }, effective, joinPid: other.pid, owner: chain?.owner ?? other.id };
}

/** The ports to publish: none, with one warning, where the network is not one of the container's own (as podman). */
function portsFor(o: RunOptions, net: ResolvedNetwork, exposed: Record<string, unknown> | undefined): PortMapping[] {
  const ports = publishedPorts(o.publish, o.publishAll, exposed);
  if (net.config.mode === "slirp4netns") {
    const v6 = net.config.slirp.portHandler === "slirp4netns" && ports.find((p) => p.hostIp.includes(":"));
    if (v6) throw new RlError(`cannot publish port ${formatHostAddress(v6)}/${v6.proto} with port_handler=slirp4netns: its API forwards IPv4 host addresses only (the default port_handler=rl forwards both)`);
    return ports;
  }
  if (o.publish.length) warnOnce(`port mappings are discarded: --network ${o.network} has no ports of its own to publish`);
  return [];
}

/** --dns* and --add-host describe a network's files; a joined network's files belong to its owner. */
function checkDnsOptions(o: RunOptions, net: ResolvedNetwork): void {
  if (net.owner === undefined) return;
  const used = [["--dns", o.dns.dns], ["--dns-search", o.dns.dnsSearch], ["--dns-option", o.dns.dnsOption], ["--add-host", o.dns.addHost]].find(([, v]) => v!.length);
  if (used) throw new RlError(`cannot use ${used[0]} with --network ${o.network}: that container's /etc/hosts and /etc/resolv.conf are shared`);
}

/**
 * `rl create` records a container (`createOnly`) and `rl start` starts a stopped one again (`existing`,
 * with its stored options: see stored-config.ts).
 */
export interface StartMode {
  existing?: ContainerRow;
  createOnly?: boolean;
}

/** The image a stored container was made from. */
function storedImage(d: Database, c: ContainerRow): StoredImage {
  const img = findImage(d, c.image_id);
  if (!img) throw new RlError(`cannot start container ${c.name}: its image ${c.image_id.slice(7, 19)} is no longer stored`);
  return img;
}

/** `rl run`: create the container, run it to its end, and return the exit code to report. */
export async function runContainer(o: RunOptions, mode: StartMode = {}): Promise<number> {
  const { existing, createOnly } = mode;
  if (o.name !== undefined && !existing) checkContainerName(o.name);
  // Checked before any side effect: a refused mount target leaves nothing behind.
  const userMounts = parseMountSpecs(o.volumes, o.tmpfs, o.mounts);
  // Checked before anything is created: a limit this host cannot enforce is an error, never ignored.
  const limits = parseLimits(o.limits);
  const cgParent = cgroupParent(limits, process.getuid!());
  // With a cgroup of its own, the container's process enters its cgroup namespace once moved there.
  const cloneNs = (ns: Namespaces) => (cgParent ? ns.filter((n) => n.type !== "cgroup") : ns);
  const p = paths();
  void p.runtime; // checked (the user's alone) before anything starts
  const mapping = currentMapping();
  // The container's own map (--userns); `mapping` stays the store's, for the jobs that write it.
  const idmap = usernsMapping(o.userns, mapping);
  checkUsernsNetwork(o.userns, mapping, o.network);
  parseSysctls(o.sysctls, o.network === "host");
  // Cloned first, so that newuidmap and newgidmap run while the image is found and the container is
  // recorded and planned. Joining another container's network needs its record: cloned later then.
  const early = parseNetwork(o.network);
  const id = existing?.id ?? randomId();
  const detached = detachedOutput(o, p, id);
  let child: Child | undefined;
  if (early.mode !== "container" && !createOnly) child = await cloneChild(cloneNs(namespacesFor({ config: early, effective: early })), o, idmap, early.mode === "slirp4netns", detached);
  let d!: Database, img!: StoredImage, net!: ResolvedNetwork, ports!: PortMapping[], network!: ContainerNetwork;
  let name = existing?.name ?? o.name ?? randomName();
  // A stored container goes on with its own upper (or flat) directory.
  const candidates = existing ? [existing.driver as StorageDriver] : idmap.lines ? usernsDrivers(o.storageDriver) : driverCandidates(o.storageDriver);
  try {
    d = openDb(p.db);
    await sweepStale(d, p);
    img = existing ? storedImage(d, existing) : await withContext(`use image ${o.image}`, () => imageFor(d, p, o.image, o.imageOptions, mapping));
    net = resolveNetwork(d, o.network);
    checkDnsOptions(o, net);
    ports = portsFor(o, net, img.config.config?.ExposedPorts);
    const record = { id, name, image_id: img.id, image_name: o.image, command: JSON.stringify(processArgs(img.config.config, o)), driver: candidates[0]!, auto_remove: o.rm ? 1 : 0, created: Date.now(), config: storedConfig(o) };
    if (createOnly) {
      // Its host ports are bound, and its files made, when it starts.
      transaction(d, p.db, () => {
        name = insertContainer(d, p, record, { generated: o.name === undefined, createOnly });
        saveNetwork(d, p, id, { config: net.config, ports, helpers: [] });
      }, { transient: true });
      console.log(id);
      return 0;
    }
    network = new ContainerNetwork(net.config, ports, containerRunDir(p, id));
    network.bindPorts();
    child ??= await cloneChild(cloneNs(namespacesFor(net)), o, idmap, net.config.mode === "slirp4netns", detached);
    transaction(d, p.db, () => {
      if (!existing) name = insertContainer(d, p, record, { generated: o.name === undefined });
      else if (!claimForStart(d, p, id)) throw new RlError(`cannot start container ${name}: it is not stopped (running, or being removed)`);
      // How its last run ended is no longer how it is.
      if (existing) for (const f of [exitFilePath(p, id), healthFilePath(p, id)]) rmSync(f, { force: true });
      saveNetwork(d, p, id, { config: net.config, ports, helpers: [] });
    }, { transient: true });
  } catch (err) {
    network?.closeListeners();
    if (child) await discardChild(child);
    throw err;
  }
  const dir = containerDir(p, id);
  const lowerDirs = img.layers.map((c) => layerDir(p, c));
  const namespaces = namespacesFor(net);
  // Signals that arrive while the container starts are delivered once it runs.
  const signals = forwardSignals();
  let started: Started | undefined;
  const init = o.init ? hostInitBinary() : undefined;
  let driver: StorageDriver = candidates[0]!;
  let vols: AttachedVolumes | undefined;
  let cgDir: string | undefined;
  let monitor: Monitor | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const sub of ["upper", "work", "merged"]) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
    cgDir = cgParent ? createContainerCgroup(d, p, id, cgParent, limits) : undefined;
    const hostname = await containerHostname(o.hostname, defaultHostname(id, net.config));
    const files = writeContainerFiles(containerRunDir(p, id), { hostname, name, network: net.effective, dns: o.dns, sharedFrom: net.owner && containerRunDir(p, net.owner) });
    // The helpers have had time to map the ids: the child goes on with what needs them while the ops are planned.
    child?.idMaps();
    // Started again: the volumes and binds it had (the same anonymous volumes, bind sources as resolved
    // then), recorded the first time, and its tmpfs mounts.
    vols = existing
      ? await attachVolumes(d, p, id, [...userMounts.filter((m) => m.type !== "volume" && m.type !== "bind"), ...recordedMounts(d, id)], [], [], [...lowerDirs].reverse(), mapping)
      : await attachVolumes(d, p, id, userMounts, o.volumesFrom ?? [], Object.keys(img.config.config?.Volumes ?? {}), [...lowerDirs].reverse(), mapping);
    for (const [i, candidate] of candidates.entries()) {
      driver = candidate;
      const root = rootfsDir(dir, driver);
      const spec = buildSpec({ ...o, hostname }, namespaces, net, img, root, id, name, files, [...lowerDirs].reverse(), init, vols.mounts, idmap);
      if (cgDir) withCgroupMount(spec);
      withLimits(spec, limits);
      checkUserMapped(spec.process.user, idmap);
      if (i === 0) await chownVolumes(p, vols.chown, spec.process.user, idmap);
      const seccomp = spec.linux.seccomp && (await seccompProgram(spec.linux.seccomp, join(p.data, "seccomp")));
      // vfs: the image flattened into the container's own tree, once (a started-again container keeps its tree).
      if (driver === "vfs" && !existsSync(root)) await runWorkerJob(p.tmp, { kind: "flatten", layerDirs: lowerDirs, dest: root, ...usernsCopy(o.userns, mapping, idmap, spec.process.user, [...lowerDirs].reverse()) }, mapping);
      const planned = planOps(spec, rootfsOps(driver, { layerDirs: lowerDirs, layersRoot: p.layers, containerDir: dir }), { ...o, init: o.init && !init, seccomp, becomeRoot: setupAsRoot(idmap) });
      const ops = cgDir ? cgroupNamespaceFirst(planned) : planned;
      // start() takes the child: on failure it is gone, and a next candidate clones another.
      const c = child ?? (await cloneChild(cloneNs(namespaces), o, idmap, net.config.mode === "slirp4netns", detached));
      child = undefined;
      // Recorded as running while the child mounts and execs (on failure the record goes with the container).
      const record = () => {
        writeSpec(p, id, spec);
        pauseForTests("RL_TEST_PAUSE_BEFORE_RUNNING");
        const command = JSON.stringify(init ? spec.process.args.slice(2) : spec.process.args);
        transaction(d, p.db, () => {
          recordCommand(d, id, command, driver);
          saveNetwork(d, p, id, { config: net.config, ports, helpers: network.helpers() });
          markRunning(d, p, id, c.spawned.pid);
          if (c.monitor) recordMonitor(d, id, c.monitor.pid);
        }, { transient: true });
      };
      try {
        await applyLimits(c, cgDir, limits);
        started = await startChild(c, ops, network, record);
        monitor = c.monitor;
        break;
      } catch (err) {
        await network.detach();
        const overlayFailed = err instanceof StartError && typeof err.op === "object" && mountsOverlayRoot(err.op);
        if (!overlayFailed || i === candidates.length - 1) throw err;
        forgetPid(d, p, id);
        debug(`kernel overlay failed (${err.message}); trying ${candidates[i + 1]}`);
      }
    }
    network.closeListeners();
  } catch (err) {
    signals.stop();
    if (child) await discardChild(child);
    if (started) {
      killPid(started.pid, 9);
      monitor?.abandon();
      await started.exited;
    }
    network.closeListeners();
    await network.detach();
    // A stored container that failed to start stays, stopped (as podman leaves it).
    if (existing) {
      markExited(d, p, id, err instanceof RlError ? err.exitCode : 125);
      await removeContainerCgroup(d, id).catch(() => {});
    } else await removeContainer(d, p, id).catch(() => {});
    if (vols) await dropVolumes(d, p, id, vols.created);
    throw err;
  }
  if (monitor) {
    signals.stop();
    // The monitor keeps the container, its output and its network helpers from here on.
    pauseForTests("RL_TEST_PAUSE_BEFORE_HANDOVER");
    monitor.commit(network.handOver());
    network.letGo();
    if (!existing) console.log(id);
    return 0;
  }
  signals.to(started!.pid);
  const term = attachStdio(started!, o.interactive);
  const code = await started!.exited;
  // rl rmi -f of its image (or rl rm -f) removed this container while it ran, and killed it.
  const row = findContainer(d, id);
  const removedMeanwhile = !row || row.state === "removing";
  await detachStdio(term);
  signals.stop();
  const networkDown = network.detach();
  if (removedMeanwhile) {
    await networkDown;
    throw new RlError(`container ${name} was removed while it ran (by rl rmi -f of its image, or rl rm -f)`, code);
  }
  if (cgDir) recordOomKill(d, p, id);
  if (o.rm) await removeContainer(d, p, id, { volumes: true });
  else {
    markExited(d, p, id, code);
    await removeContainerCgroup(d, id);
  }
  await networkDown;
  if (!o.rm) clearHelpers(d, p, id);
  return code;
}
