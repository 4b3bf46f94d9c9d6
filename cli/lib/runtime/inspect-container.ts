/**
 * `rl inspect` of a container, with podman's field names, plus what the usual debugging starts from:
 * the namespaces of its first process (`/proc/PID/ns/*`, for nsenter and lsns) and its cgroup.
 */
import type { Database } from "bun:sqlite";
import { existsSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { networkModeName } from "../network/options";
import { portBindings } from "../network/ports";
import { loadNetwork } from "../network/store";
import type { Paths } from "../paths";
import { findImage } from "../store/images";
import { containerVolumeNames } from "../store/volumes";
import { containerDir, containerRunDir, type ContainerRow } from "../store/containers-table";
import { processRuns } from "../store/container-state";
import type { Spec } from "./spec";
import { containerCgroupDir, containerOomKilled } from "./cgroup/container-cgroup";
import { cgroupFrozen } from "./cgroup/freezer";
import { hostConfigLimits } from "./cgroup/resources";
import { readSpec } from "./container-spec";
import { logPath } from "../store/exit-file";
import { restartCount } from "./restart-state";
import { readHealth } from "./health-state";
import type { RestartPolicy } from "./restart-policy";

/** Go's zero time, which podman prints for a time that has not come. */
const ZERO_TIME = "0001-01-01T00:00:00Z";

export function inspectContainer(d: Database, p: Paths, r: ContainerRow) {
  const stored = r.config ? (JSON.parse(r.config) as { restart?: RestartPolicy; health?: unknown }) : undefined;
  const restart = stored?.restart;
  const hasHealthcheck = stored?.health !== undefined;
  const volumes = containerVolumeNames(d, r.id);
  const spec = readSpec(p, r.id);
  const argv = JSON.parse(r.command || "[]") as string[];
  const image = findImage(d, r.image_id);
  const net = loadNetwork(d, r.id);
  // The first process is the container's only while it is the one recorded (pid and start time).
  const alive = processRuns(r);
  // Paused: its cgroup frozen (rl pause), as the kernel says; podman's Running is false then.
  const cgroup = alive ? containerCgroupDir(d, r.id) : null;
  const paused = cgroup !== null && cgroupFrozen(cgroup);
  const dir = containerDir(p, r.id);
  const ports = portBindings(net?.ports ?? []);
  const slirp = net?.config.mode === "slirp4netns";
  return {
    Id: r.id,
    Created: new Date(r.created).toISOString(),
    Path: argv[0] ?? "",
    Args: argv.slice(1),
    State: {
      OciVersion: spec?.ociVersion ?? "1.0.2",
      Status: paused ? "paused" : r.state,
      Running: alive && !paused,
      Paused: paused,
      Restarting: false,
      OOMKilled: containerOomKilled(d, r.id),
      ...(hasHealthcheck ? { Health: readHealth(p, r.id) ?? { Status: "starting", FailingStreak: 0, Log: [] } } : {}),
      Dead: false,
      Pid: alive ? r.pid : 0,
      ExitCode: r.exit_code ?? 0,
      Error: "",
      // A container from before the store recorded starts shows its creation time.
      StartedAt: r.started ? new Date(r.started).toISOString() : r.state === "created" ? ZERO_TIME : new Date(r.created).toISOString(),
      FinishedAt: r.finished ? new Date(r.finished).toISOString() : ZERO_TIME,
    },
    Image: r.image_id.replace(/^sha256:/, ""),
    ImageName: r.image_name,
    Name: r.name,
    RestartCount: restartCount(p, r.id),
    Driver: r.driver,
    // A detached container's log (rl logs); a foreground one has none.
    LogPath: existsSync(logPath(p, r.id)) ? logPath(p, r.id) : "",
    EffectiveCaps: spec?.process.capabilities.effective ?? [],
    BoundingCaps: spec?.process.capabilities.bounding ?? [],
    Config: {
      Hostname: spec?.hostname ?? "",
      User: spec ? `${spec.process.user.uid}:${spec.process.user.gid}` : "",
      Env: spec?.process.env ?? [],
      Cmd: argv,
      Image: r.image_name,
      WorkingDir: spec?.process.cwd ?? "/",
      Entrypoint: image?.config.config?.Entrypoint ?? [],
      Labels: image?.config.config?.Labels ?? {},
      StopSignal: image?.config.config?.StopSignal ?? "SIGTERM",
      Tty: spec?.process.terminal ?? false,
      Umask: (spec?.process.user.umask ?? 0o022).toString(8).padStart(4, "0"),
    },
    HostConfig: {
      NetworkMode: net ? networkModeName(net.config) : "none",
      AutoRemove: r.auto_remove === 1,
      RestartPolicy: { Name: restart?.name ?? "no", MaximumRetryCount: restart?.maxRetries ?? 0 },
      PortBindings: ports,
      ReadonlyRootfs: spec?.root.readonly ?? false,
      MaskedPaths: spec?.linux.maskedPaths ?? [],
      ReadonlyPaths: spec?.linux.readonlyPaths ?? [],
      SecurityOpt: spec ? securityOpt(spec) : [],
      UsernsMode: spec?.annotations["io.rl.userns"] ?? "",
      IDMappings: {
        UidMap: (spec?.linux.uidMappings ?? []).map((m) => `${m.containerID}:${m.hostID}:${m.size}`),
        GidMap: (spec?.linux.gidMappings ?? []).map((m) => `${m.containerID}:${m.hostID}:${m.size}`),
      },
      Ulimits: (spec?.process.rlimits ?? []).map((l) => ({ Name: l.type, Soft: l.soft, Hard: l.hard })),
      GroupAdd: spec?.annotations["io.rl.group-add"]?.split("\n") ?? [],
      Sysctls: spec?.linux.sysctl ?? {},
      Devices: (spec?.linux.devices ?? []).map((d) => ({ PathOnHost: d.source, PathInContainer: d.path, CgroupPermissions: d.permissions })),
      ...hostConfigLimits(spec?.linux.resources, spec?.process.oomScoreAdj),
    },
    Mounts: (spec?.mounts ?? [])
      .filter((m) => m.type === "bind" && !m.source.startsWith(containerRunDir(p, r.id)) && !spec?.linux.devices?.some((d) => d.path === m.destination))
      .map((m) => {
        const volume = volumes.get(m.destination);
        return { Type: volume ? "volume" : "bind", ...(volume ? { Name: volume, Driver: "local" } : {}), Source: m.source, Destination: m.destination, RW: !m.options.includes("ro"), Options: m.options };
      }),
    NetworkSettings: {
      Ports: ports,
      IPAddress: slirp ? "10.0.2.100" : "",
      Gateway: slirp ? "10.0.2.2" : "",
    },
    GraphDriver: {
      Name: r.driver,
      Data: { UpperDir: join(dir, "upper"), WorkDir: join(dir, "work"), MergedDir: spec?.root.path ?? join(dir, "merged") },
    },
    // Beyond podman: where nsenter, lsns and /proc start from.
    Namespaces: alive ? namespacesOf(r.pid!) : {},
    Cgroup: alive ? cgroupOf(r.pid!) : "",
  };
}

/** podman's HostConfig.SecurityOpt: what --security-opt changed (the seccomp profile, no-new-privileges). */
function securityOpt(spec: Spec): string[] {
  const out: string[] = [];
  const seccomp = spec.annotations["io.rl.seccomp"];
  if (seccomp && seccomp !== "default") out.push(`seccomp=${seccomp}`);
  if (spec.process.noNewPrivileges) out.push("no-new-privileges");
  return out;
}

/** `/proc/PID/ns/*` as links read ("net:[4026532008]"). */
function namespacesOf(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ns of ["user", "mnt", "pid", "uts", "ipc", "net", "cgroup"]) {
    try {
      out[ns] = readlinkSync(`/proc/${pid}/ns/${ns}`);
    } catch {}
  }
  return out;
}

function cgroupOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, "utf8").trim();
  } catch {
    return "";
  }
}
