import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { debug } from "../log";
import { transaction } from "../store/db";
import { layerDir } from "../store/images";
import { seccompProgram } from "../security/seccomp-program";
import { mountsOverlayRoot, rootfsDir, rootfsOps, type StorageDriver } from "../rootfs/driver";
import { StartError } from "../sys/start-error";
import { runWorkerJob } from "../rootfs/worker-job";
import { killPid } from "../sys/executor";
import type { Monitor } from "../sys/monitor";
import { pauseForTests } from "../test-pause";
import { clearHelpers, saveNetwork } from "../network/store";
import { cloneChild, discardChild, startChild, type Child, type Started } from "../runtime/container-process";
import { containerDir, containerRunDir, findContainer, forgetPid, markExited, markRunning, recordCommand, recordMonitor, removedWhileStarting } from "../store/containers-table";
import { removeContainer } from "../runtime/remove-container";
import { defaultHostname, writeContainerFiles } from "../runtime/container-files";
import { containerHostname } from "../runtime/outer-container";
import { planOps } from "../runtime/plan";
import { checkUserMapped } from "../runtime/user";
import { setupAsRoot, usernsCopy } from "../runtime/userns-rootfs";
import { attachVolumes, chownVolumes, dropVolumes, recordedMounts, type AttachedVolumes } from "../runtime/volume-mounts";
import { hostInitBinary } from "../runtime/init-binary";
import { createContainerCgroup, recordOomKill, removeContainerCgroup } from "../runtime/cgroup/container-cgroup";
import { applyLimits, cgroupNamespaceFirst, withCgroupMount, withLimits } from "../runtime/cgroup/container-setup";
import { writeSpec } from "../runtime/container-spec";
import { buildSpec } from "./build-spec";
import { cloneNamespaces, type Created } from "./create-container";
import { namespacesFor } from "./resolve-network";

/** A container started in the foreground of this rl: its process, and what records its end. */
export interface ForegroundStart extends Started {
  kind: "foreground";
  /**
   * Once its process ended (and rl let go of its stdio): record the end (`code`), bring its network
   * down, remove it with --rm; the code to exit with. Throws when it was removed while it ran (rm -f).
   */
  finish(code: number): Promise<number>;
}

/** A container started under its monitor: rl hands it over and may go. */
export interface DetachedStart {
  kind: "detached";
  pid: number;
  monitor: Monitor;
  /**
   * The monitor keeps the container, its output and its network helpers from here on. `attach`: rl
   * stays connected from the first byte (the connection's descriptor; see attach-client.ts).
   */
  handOver(o?: { attach?: boolean }): number;
}

/**
 * Start a created container: its files, cgroup, volumes, root filesystem (the next storage driver when
 * kernel overlay cannot mount), spec and op list, then its first process, recorded as running while it
 * execs. On failure nothing runs: a new container is removed, a stored one stays stopped (as podman).
 */
export async function startCreated(c: Created): Promise<ForegroundStart | DetachedStart> {
  const { o, p, d, id, name, img, net, ports, network, existing, candidates, limits, cgParent, mapping, idmap, userMounts, detached } = c;
  let child: Child | undefined = c.child;
  const dir = containerDir(p, id);
  const lowerDirs = img.layers.map((l) => layerDir(p, l));
  const namespaces = namespacesFor(net);
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
      const seccomp = spec.linux.seccomp && (await seccompProgram(spec.linux.seccomp, p));
      // vfs: the image flattened into the container's own tree, once (a started-again container keeps its tree).
      if (driver === "vfs" && !existsSync(root)) await runWorkerJob(p.tmp, { kind: "flatten", layerDirs: lowerDirs, dest: root, ...usernsCopy(o.userns, mapping, idmap, spec.process.user, [...lowerDirs].reverse()) }, mapping);
      const planned = planOps(spec, rootfsOps(driver, { layerDirs: lowerDirs, layersRoot: p.layers, containerDir: dir }), { ...o, init: o.init && !init, seccomp, becomeRoot: setupAsRoot(idmap) });
      const ops = cgDir ? cgroupNamespaceFirst(planned) : planned;
      // start() takes the child: on failure it is gone, and a next candidate clones another.
      const ch = child ?? (await cloneChild(cloneNamespaces(c, namespaces), o, idmap, net.config.mode === "slirp4netns", detached));
      child = undefined;
      // Recorded as running while the child mounts and execs (on failure the record goes with the container).
      const record = () => {
        writeSpec(p, id, spec);
        pauseForTests("RL_TEST_PAUSE_BEFORE_RUNNING");
        const command = JSON.stringify(init ? spec.process.args.slice(2) : spec.process.args);
        transaction(d, p.db, () => {
          recordCommand(d, id, command, driver);
          saveNetwork(d, p, id, { config: net.config, ports, helpers: network.helpers() });
          if (!markRunning(d, p, id, ch.spawned.pid, { foreground: !ch.monitor })) throw removedMeanwhile(name);
          if (ch.monitor) recordMonitor(d, id, ch.monitor.pid);
        }, { transient: true });
      };
      try {
        await applyLimits(ch, cgDir, limits);
        started = await startChild(ch, ops, network, record);
        monitor = ch.monitor;
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
    // rm -f by another rl took its files away under this start: that is what the user hears, not an ENOENT.
    const removed = removedWhileStarting(d, id);
    if (child) await discardChild(child);
    if (started) {
      killPid(started.pid, 9);
      monitor?.abandon();
      await started.exited;
    }
    network.closeListeners();
    await network.detach();
    // A stored container that failed to start stays, stopped (as podman leaves it).
    if (existing && !removed) {
      markExited(d, p, id, err instanceof RlError ? err.exitCode : 125);
      await removeContainerCgroup(d, id).catch(() => {});
    } else await removeContainer(d, p, id).catch(() => {});
    if (vols) await dropVolumes(d, p, id, vols.created);
    throw removed ? removedMeanwhile(name) : err;
  }
  const s = started!;
  if (monitor) {
    const m = monitor;
    return {
      kind: "detached",
      pid: s.pid,
      monitor: m,
      handOver(h = {}) {
        pauseForTests("RL_TEST_PAUSE_BEFORE_HANDOVER");
        const client = m.commit(network.handOver(), { attach: h.attach === true });
        network.letGo();
        return client;
      },
    };
  }
  return {
    kind: "foreground",
    ...s,
    async finish(code) {
      pauseForTests("RL_TEST_PAUSE_AFTER_EXIT");
      // rl rmi -f of its image (or rl rm -f) removed this container while it ran, and killed it.
      const row = findContainer(d, id);
      const networkDown = network.detach();
      if (!row || row.state === "removing") {
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
    },
  };
}

const removedMeanwhile = (name: string) => new RlError(`cannot start container ${name}: it was removed meanwhile (rl rm -f or rmi -f by another command)`);
