import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { RlError, withContext } from "../errors";
import { debug, warnOnce } from "../log";
import { paths, type Paths } from "../paths";
import { openDb, transaction } from "../store/db";
import { findImage, layerDir, type StoredImage } from "../store/images";
import { tmpName } from "../store/tmp-name";
import { parseImageRef } from "../image/reference";
import { formatPlatform, wantedPlatform } from "../image/platform";
import { findPulled, platformAsked, type PullPolicy } from "../registry/pull-policy";
import type { RegistryOptions } from "../registry/options";
import { currentMapping, type IdMapping } from "../security/idmap";
import { adjustCaps } from "../security/capabilities";
import { rootfsDir, rootfsOps, type StorageDriver } from "../rootfs/driver";
import { readImageFile } from "../rootfs/image-file";
import { runWorkerJob } from "../rootfs/worker-job";
import { killPid } from "../sys/executor";
import { pauseForTests } from "../test-pause";
import { cloneChild, discardChild, startChild, type Child, type Namespaces } from "./container-process";
import { containerDir, containerRunDir, forgetPid, insertContainer, markExited, markRunning, removeContainer, sweepStale } from "./containers";
import { defaultHostname, writeContainerFiles } from "./container-files";
import { ContainerNetwork } from "../network/attach";
import { parseNetwork, type NetworkConfig } from "../network/options";
import { formatHostAddress, publishedPorts, type PortMapping } from "../network/ports";
import { clearHelpers, loadNetwork, saveNetwork } from "../network/store";
import type { DnsOptions } from "../network/etc-files";
import { findContainer } from "./containers";
import { planOps } from "./plan";
import { DEFAULT_CAPS, processArgs, processEnv, type Spec } from "./spec";
import { randomId, randomName, VALID_NAME } from "./names";
import { resolveUser } from "./user";
import { attachTerminal } from "./tty";
import { parseMountSpecs } from "./mounts";
import { hostInitBinary, INIT_PATH } from "./init-binary";

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
  readOnly: boolean;
  rm: boolean;
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
}

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
const SIGNUM: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

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
  if (ref.transport === "store" || ref.transport === "docker") {
    const policy = o.pull ?? "missing";
    // A platform asked for must be the stored image's; with none asked, the stored image serves whatever its platform.
    const asked = platformAsked(o) ? want : undefined;
    const img = policy === "always" ? undefined : findPulled(d, ref.name, asked);
    if (img) return img;
    if (policy === "never") throw new RlError(`image ${text} is not in the local store${asked ? ` for ${formatPlatform(asked)}` : ""} (--pull=never)`);
    const [{ pullImage }, { interruptible }, { progressMode }] = await Promise.all([import("../registry/pull"), import("../registry/options"), import("../registry/progress")]);
    return interruptible((signal) => pullImage(d, p, ref.name, mapping, { ...o, signal, platform: want, progress: progressMode(Boolean(o.quiet)) }));
  }
  // Reading transports pulls in zlib, tar and WASM: load them only when an image must be read.
  const [{ resolveSource }, { storeImage }] = await Promise.all([import("../image/resolve"), import("../store/store-image")]);
  const resolved = await resolveSource(ref, want);
  const stored = findImage(d, resolved.id);
  if (stored && stored.layers.every((c) => existsSync(layerDir(p, c)))) return stored;
  return storeImage(d, p, resolved, mapping);
}

/** Kernel overlay in a user namespace, else fuse-overlayfs, else a copy; or what the user forced. */
function driverCandidates(forced: StorageDriver | undefined): StorageDriver[] {
  if (forced) return [forced];
  const env = process.env.RL_STORAGE_DRIVER as StorageDriver | undefined;
  if (env) return [env];
  return Bun.which("fuse-overlayfs") ? ["overlay", "fuse-overlayfs", "vfs"] : ["overlay", "vfs"];
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

function buildSpec(o: RunOptions, namespaces: Namespaces, net: ResolvedNetwork, img: StoredImage, root: string, id: string, name: string, files: Record<string, string>, lowerTopFirst: string[], init: string | undefined): Spec {
  const hostname = o.hostname ?? defaultHostname(id, net.config);
  const userSpec = o.user ?? img.config.config?.User ?? "";
  const user = resolveUser(userSpec || "0", readImageFile(lowerTopFirst, "etc/passwd"), readImageFile(lowerTopFirst, "etc/group"));
  const caps = adjustCaps(DEFAULT_CAPS, o.capAdd, o.capDrop);
  const cwd = o.workdir ?? (img.config.config?.WorkingDir || "/");
  if (!isAbsolute(cwd)) throw new RlError(`the working directory ${JSON.stringify(cwd)} must be an absolute path`);
  const mounts: Spec["mounts"] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ...Object.entries(files).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["bind"] })),
    ...parseMountSpecs(o.volumes, o.tmpfs),
    ...(init ? [{ destination: INIT_PATH, type: "bind", source: init, options: ["bind", "ro"] }] : []),
  ];
  const args = processArgs(img.config.config, o);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: o.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: init ? [INIT_PATH, "--", ...args] : args,
      env: processEnv(img.config.config, { ...o, tty: o.tty }, hostname, user),
      cwd,
      capabilities: { bounding: caps, effective: user.uid === 0 ? caps : [], permitted: user.uid === 0 ? caps : [] },
    },
    root: { path: root, readonly: o.readOnly },
    hostname,
    mounts,
    linux: {
      namespaces,
      maskedPaths: ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap"],
      readonlyPaths: ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
    annotations: { "io.rl.image": img.id, "io.rl.name": name },
  };
}

function atomicJson(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 2));
  renameSync(`${path}.tmp`, path);
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

/** `rl run`: create the container, run it to its end, and return the exit code to report. */
export async function runContainer(o: RunOptions): Promise<number> {
  if (o.name !== undefined && !VALID_NAME.test(o.name)) throw new RlError(`invalid container name ${JSON.stringify(o.name)}: use letters, digits, _ . and -, starting with a letter or digit`);
  const p = paths();
  const mapping = currentMapping();
  // Cloned first, so that newuidmap and newgidmap run while the image is found and the container is
  // recorded and planned. Joining another container's network needs its record: cloned later then.
  const early = parseNetwork(o.network);
  let child: Child | undefined;
  if (early.mode !== "container") child = await cloneChild(namespacesFor({ config: early, effective: early }), o.tty, mapping, early.mode === "slirp4netns");
  let d!: Database, img!: StoredImage, net!: ResolvedNetwork, ports!: PortMapping[], network!: ContainerNetwork;
  const id = randomId();
  let name = o.name ?? randomName();
  const candidates = driverCandidates(o.storageDriver);
  try {
    d = openDb(p.db);
    await sweepStale(d, p);
    img = await withContext(`use image ${o.image}`, () => imageFor(d, p, o.image, o.imageOptions, mapping));
    net = resolveNetwork(d, o.network);
    checkDnsOptions(o, net);
    ports = portsFor(o, net, img.config.config?.ExposedPorts);
    network = new ContainerNetwork(net.config, ports, containerRunDir(p, id));
    network.bindPorts();
    child ??= await cloneChild(namespacesFor(net), o.tty, mapping, net.config.mode === "slirp4netns");
    transaction(d, p.db, () => {
      name = insertContainer(d, p, { id, name, image_id: img.id, image_name: o.image, command: "", driver: candidates[0]!, auto_remove: o.rm ? 1 : 0, created: Date.now() }, { generated: o.name === undefined });
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
  let target = 0;
  const pending: number[] = [];
  const handlers = FORWARDED_SIGNALS.map((s) => [s, () => (target ? killPid(target, SIGNUM[s]!) : pending.push(SIGNUM[s]!))] as const);
  for (const [s, h] of handlers) process.on(s, h);
  let started: Awaited<ReturnType<typeof startChild>> | undefined;
  const init = o.init ? hostInitBinary() : undefined;
  let driver: StorageDriver = candidates[0]!;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const sub of ["upper", "work", "merged"]) mkdirSync(join(dir, sub), { mode: 0o755 });
    const files = writeContainerFiles(containerRunDir(p, id), { hostname: o.hostname ?? defaultHostname(id, net.config), name, network: net.effective, dns: o.dns, sharedFrom: net.owner && containerRunDir(p, net.owner) });
    // The helpers have had time to map the ids: the child goes on with what needs them while the ops are planned.
    child?.idMaps();
    for (const [i, candidate] of candidates.entries()) {
      driver = candidate;
      const root = rootfsDir(dir, driver);
      const spec = buildSpec(o, namespaces, net, img, root, id, name, files, [...lowerDirs].reverse(), init);
      if (driver === "vfs") await runWorkerJob(`${tmpName(p, "flatten")}.json`, { kind: "flatten", layerDirs: lowerDirs, dest: root }, mapping);
      const ops = planOps(spec, rootfsOps(driver, { layerDirs: lowerDirs, layersRoot: p.layers, containerDir: dir }, Bun.which("fuse-overlayfs") ?? undefined), { ...o, init: o.init && !init });
      // start() takes the child: on failure it is gone, and a next candidate clones another.
      const c = child ?? (await cloneChild(namespaces, o.tty, mapping, net.config.mode === "slirp4netns"));
      child = undefined;
      // Recorded as running while the child mounts and execs (on failure the record goes with the container).
      const record = () => {
        // The runtime spec, as podman keeps it: with the runtime state (tmpfs), not in the store.
        atomicJson(join(containerRunDir(p, id), "config.json"), spec);
        pauseForTests("RL_TEST_PAUSE_BEFORE_RUNNING");
        const command = JSON.stringify(init ? spec.process.args.slice(2) : spec.process.args);
        transaction(d, p.db, () => {
          d.query("UPDATE containers SET command = ?, driver = ? WHERE id = ?").run(command, driver, id);
          saveNetwork(d, p, id, { config: net.config, ports, helpers: network.helpers() });
          markRunning(d, p, id, c.spawned.pid);
        }, { transient: true });
      };
      try {
        started = await startChild(c, ops, network, record);
        break;
      } catch (err) {
        await network.detach();
        const overlayFailed = err instanceof RlError && /mount overlay on|fuse-overlayfs/.test(err.message);
        if (!overlayFailed || i === candidates.length - 1) throw err;
        forgetPid(d, p, id);
        debug(`kernel overlay failed (${err.message}); trying ${candidates[i + 1]}`);
      }
    }
    network.closeListeners();
  } catch (err) {
    for (const [s, h] of handlers) process.off(s, h);
    if (child) await discardChild(child);
    if (started) {
      killPid(started.pid, 9);
      await started.exited;
    }
    network.closeListeners();
    await network.detach();
    await removeContainer(d, p, id).catch(() => {});
    throw err;
  }
  const { pid } = started!;
  target = pid;
  for (const sig of pending) killPid(pid, sig);
  const term = started!.ptyMaster >= 0 ? attachTerminal(started!.ptyMaster, o.interactive) : undefined;
  const code = await started!.exited;
  if (term) {
    await Promise.race([term.done, Bun.sleep(500)]);
    term.detach();
  }
  for (const [s, h] of handlers) process.off(s, h);
  const networkDown = network.detach();
  if (o.rm) await removeContainer(d, p, id);
  else markExited(d, p, id, code);
  await networkDown;
  if (!o.rm) clearHelpers(d, p, id);
  return code;
}
