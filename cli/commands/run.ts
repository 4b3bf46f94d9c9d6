import type { Options } from "yargs";
import type { Example } from "../verb";
import type { RunOptions } from "../lib/runtime/run-options";
import { runForeground } from "./foreground";
import { Session } from "../lib/engine/session";
import { parseLogDriver, parseLogOpts } from "../lib/runtime/log-options";
import { parseRestartPolicy, type RestartPolicy } from "../lib/runtime/restart-policy";
import { parseHealth } from "../lib/runtime/health-options";
import { RlError } from "../lib/errors";
import { monitorMissing } from "../lib/sys/monitor";
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from "../lib/runtime/detach-keys";
import { parseAttachStreams } from "../lib/runtime/attach-streams";
import { warnOnce } from "../lib/log";
import { parseDriver } from "../lib/rootfs/driver";
import { imageOptions, PULL_FLAGS } from "./registry-flags";
import { parseSecurityOpts } from "../lib/security/security-opts";
import { LIMIT_OPTIONS, limitFlags, OOM_SCORE_ADJ_OPTION } from "./limit-flags";
import { parseUserns } from "../lib/security/userns";
import { parseDevices, parseGroupAdd, parseUlimits, parseUmask } from "../lib/runtime/process-options";

export const command = "run <IMAGE> [COMMAND..]";
export const describe = "Run a command in a new container";

export const OPTIONS = {
  detach: { alias: "d", type: "boolean", default: false, describe: "Run in the background and print the container's id (see rl logs, rl stop, rl wait)" },
  "log-driver": { type: "string", default: "k8s-file", describe: "Where a detached container's output goes: k8s-file (rl logs reads it) or none" },
  "log-opt": { type: "string", array: true, default: [], describe: "Rotate a detached container's log: max-size=SIZE (10m, 512k), max-file=N (the log and N-1 older ones; default 1: it starts over)" },
  rm: { type: "boolean", default: false, describe: "Remove the container when it exits" },
  "health-cmd": { type: "string", describe: "A detached container's healthcheck: a command run by sh -c in it every --health-interval (rl inspect: State.Health; rl ps: (healthy))" },
  "health-interval": { type: "string", default: "30s", describe: "How often the healthcheck runs (a duration: 30s, 1m; disable: never)" },
  "health-timeout": { type: "string", default: "30s", describe: "A healthcheck still running after this fails (and is killed)" },
  "health-retries": { type: "number", default: 3, describe: "Failures in a row that make the container unhealthy" },
  "health-start-period": { type: "string", default: "0s", describe: "Failures in this first while do not count" },
  "no-healthcheck": { type: "boolean", default: false, describe: "No healthcheck" },
  restart: { type: "string", default: "no", describe: "When a detached container ends, start it again: no, on-failure[:N] (a code other than 0, at most N times), always, unless-stopped (rl stop leaves either stopped); docker's back-off, 100 ms doubled up to a minute" },
  name: { type: "string", describe: "Name the container" },
  attach: { alias: "a", type: "string", array: true, default: [], describe: "Attach only these of its streams: stdin, stdout, stderr (repeatable; stdin not named is closed, output not named discarded)" },
  "detach-keys": { type: "string", default: DEFAULT_DETACH_KEYS, describe: "With -it: the keys that detach from it, leaving it running (rl attach comes back; \"\": none)" },
  interactive: { alias: "i", type: "boolean", default: false, describe: "Keep stdin open" },
  tty: { alias: "t", type: "boolean", default: false, describe: "Allocate a terminal (from the container's own /dev/pts)" },
  env: { alias: "e", type: "string", array: true, default: [], describe: "Set an environment variable (KEY=VALUE, or KEY to pass rl's own)" },
  "env-file": { type: "string", array: true, default: [], describe: "Read environment variables from a file" },
  entrypoint: { type: "string", describe: "Override the image's entrypoint (\"\" clears it)" },
  workdir: { alias: "w", type: "string", describe: "Working directory inside the container" },
  user: { alias: "u", type: "string", describe: "User: uid[:gid] or name[:group], resolved in the image's /etc/passwd" },
  hostname: { alias: "h", type: "string", describe: "Container host name" },
  volume: { alias: "v", type: "string", array: true, default: [], describe: "Mount a host directory or a volume: HOST-DIR:CONTAINER-DIR[:ro], VOLUME:CONTAINER-DIR[:ro|U] (created on first use, filled from the image), or CONTAINER-DIR (an anonymous volume)" },
  mount: { type: "string", array: true, default: [], describe: "Mount: type=bind|volume|tmpfs,source=…,destination=…[,ro][,tmpfs-size=…][,tmpfs-mode=…][,bind-propagation=…]" },
  "volumes-from": { type: "string", array: true, default: [], describe: "Mount the volumes and binds of another container: CONTAINER[:ro|rw]" },
  tmpfs: { type: "string", array: true, default: [], describe: "Mount a tmpfs: PATH[:OPTIONS]" },
  "read-only": { type: "boolean", default: false, describe: "Mount the root filesystem read-only" },
  init: { type: "boolean", default: false, describe: "Run a tiny init as PID 1 that forwards signals and reaps zombies" },
  network: { alias: "net", type: "string", default: "slirp4netns", describe: "Network: slirp4netns[:allow_host_loopback=true,mtu=N,cidr=CIDR,enable_ipv6=true,port_handler=rl|slirp4netns] (its own, the default), none (loopback only), host, or container:NAME (share another container's)" },
  publish: { alias: "p", type: "string", array: true, default: [], describe: "Publish a container port on the host: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp], ranges as 8000-8002:80-82, IPv6 as [::1]:8080:80" },
  "publish-all": { alias: "P", type: "boolean", default: false, describe: "Publish every port the image exposes on a free host port" },
  dns: { type: "string", array: true, default: [], describe: "Set a DNS server for /etc/resolv.conf" },
  "dns-search": { type: "string", array: true, default: [], describe: "Set a DNS search domain (\".\" for none)" },
  "dns-option": { type: "string", array: true, default: [], describe: "Set a resolv.conf option (e.g. ndots:2)" },
  "add-host": { type: "string", array: true, default: [], describe: "Add NAME:IP to /etc/hosts" },
  ...PULL_FLAGS,
  pull: { type: "string", default: "missing", choices: ["always", "missing", "never", "newer"], describe: "Pull the image: always, missing (not in the store), never, or newer (when the registry's digest differs from the stored image's; the stored one when the registry cannot be asked)" },
  "storage-driver": { type: "string", describe: "Root filesystem: overlay, fuse-overlayfs or vfs (default: the best that works)" },
  "cap-add": { type: "string", array: true, default: [], describe: "Add a capability (or ALL)" },
  "cap-drop": { type: "string", array: true, default: [], describe: "Drop a capability (or ALL)" },
  "security-opt": { type: "string", array: true, default: [], describe: "Security option: seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false], mask=PATH[:PATH...], unmask=PATH[:PATH...]|ALL" },
  privileged: { type: "boolean", default: false, describe: "Give the container every capability (in its user namespace), no seccomp filter and no masked paths" },
  ...LIMIT_OPTIONS,
  ...OOM_SCORE_ADJ_OPTION,
  userns: { type: "string", default: "", describe: "User namespace: keep-id[:uid=N,gid=N] (you keep your uid and gid inside and run as them), nomap (only your subordinate ids); without it you are root inside" },
  ulimit: { type: "string", array: true, default: [], describe: "Set a resource limit: NAME=SOFT[:HARD] (nofile, nproc, core, memlock, stack, ...; -1 or unlimited), up to rl's own hard limit" },
  umask: { type: "string", describe: "The container process's umask (octal, default 0022)" },
  "group-add": { type: "string", array: true, default: [], describe: "Add a supplementary group: a gid or a name in the image's /etc/group, or keep-groups (keep your own)" },
  sysctl: { type: "string", array: true, default: [], describe: "Set a namespaced sysctl: KEY=VALUE (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*)" },
  device: { type: "string", array: true, default: [], describe: "Bind a host device you may open: HOST[:CONTAINER][:PERMS]" },
} as const satisfies Record<string, Options>;

export const POSITIONALS = {
  IMAGE: "image: a registry name (alpine, localhost:5000/app:1, name@sha256:…, docker://…), oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:@N|:REF], or a stored image's id",
  COMMAND: "command and arguments (default: the image's Entrypoint and Cmd)",
};
/** `run IMAGE ls -la`: what follows IMAGE is the container's command, options included. */
export const OPTIONS_END_AT_FIRST_ARGUMENT = true;
export const EXAMPLES: Example[] = [
  ["$0 run --rm localhost:5000/alpine:3.20 cat /etc/alpine-release", "Pull an image if it is not stored yet, and run it"],
  ["$0 run --rm oci:alpine-layout:3.20.3 cat /etc/alpine-release", "Run a command in an image from an OCI layout"],
  ["$0 run -it --rm -v ./src:/src docker-archive:app.tar sh", "Interactive shell with a bind mount"],
  ["$0 run --rm --platform linux/arm64 oci:layout:tag uname -m", "Choose a platform from an index"],
  ["$0 run --rm -p 8080:80 --name web IMAGE httpd -f -p 80", "Publish container port 80 on host port 8080 (see rl port web)"],
  ["$0 run --rm --network slirp4netns:allow_host_loopback=true IMAGE wget -O- http://10.0.2.2:8000", "Reach a server on the host's loopback"],
  ["$0 run --rm --network container:web IMAGE wget -O- http://127.0.0.1", "Share another container's network"],
  ["$0 run --rm --security-opt seccomp=profile.json IMAGE CMD", "Filter syscalls with a profile of one's own (docker's JSON format)"],
  ["$0 run --name db -v pgdata:/var/lib/postgresql/data postgres", "A named volume: created on first use, filled from the image, kept after rm"],
  ["$0 run -d --name web -p 8080:80 IMAGE httpd -f -p 80", "Run in the background: rl logs web, rl stop web"],
];

export type Args = Record<string, unknown> & { IMAGE: string; COMMAND?: string[] };

export async function handler(a: Args): Promise<number> {
  const o = runOptions(a);
  const detachKeys = parseDetachKeys(String(a["detach-keys"]));
  if (o.restart?.name !== "no" && !o.detach) warnOnce(`--restart ${a.restart} applies to detached containers (rl run -d, rl start): this one runs in the foreground, once`);
  // An interactive terminal runs under a monitor, attached: the user can detach (--detach-keys) and come back (rl attach).
  // (-a without stdin leaves o.interactive false: no input, no keys to watch.)
  // (The monitor's paths are imported only when taken: the foreground run is the hot path.)
  if (o.tty && o.interactive && !o.detach && !monitorMissing()) {
    const { runAttached } = await import("../lib/engine/run-detached");
    return runAttached({ ...o, restart: parseRestartPolicy("no") }, { tty: true, stdin: true, detachKeys }, new Session());
  }
  if (!o.detach) return runForeground(o, new Session());
  const { runDetached } = await import("../lib/engine/run-detached");
  console.log(await runDetached(o, new Session()));
  return 0;
}

/** --restart, which --rm excludes (as in podman). */
function restartOption(a: Args): RestartPolicy {
  const policy = parseRestartPolicy(String(a.restart));
  if (a.rm && policy.name !== "no") throw new RlError(`--rm and --restart ${a.restart} cannot be combined: a container removed when it ends cannot be started again`);
  return policy;
}

/** run's (and create's) flags as the options of a container. */
export function runOptions(a: Args): RunOptions {
  const command = (a.COMMAND ?? []).map(String);
  const streams = parseAttachStreams((a.attach as string[] | undefined) ?? []);
  if (streams && a.detach) throw new RlError("cannot combine -a (attach to streams) with -d (detach)");
  return {
    image: String(a.IMAGE),
    command,
    entrypoint: a.entrypoint as string | undefined,
    env: a.env as string[],
    envFiles: a["env-file"] as string[],
    workdir: a.workdir as string | undefined,
    user: a.user as string | undefined,
    hostname: a.hostname as string | undefined,
    volumes: a.volume as string[],
    tmpfs: a.tmpfs as string[],
    mounts: a.mount as string[],
    volumesFrom: a["volumes-from"] as string[],
    readOnly: Boolean(a["read-only"]),
    rm: Boolean(a.rm),
    restart: restartOption(a),
    health: parseHealth({ cmd: a["health-cmd"] as string | undefined, interval: String(a["health-interval"]), timeout: String(a["health-timeout"]), retries: Number(a["health-retries"]), startPeriod: String(a["health-start-period"]), none: Boolean(a["no-healthcheck"]) }),
    detach: Boolean(a.detach),
    logDriver: parseLogDriver(String(a["log-driver"])),
    logOpts: parseLogOpts(a["log-opt"] as string[]),
    name: a.name as string | undefined,
    interactive: Boolean(a.interactive) && (streams?.stdin ?? true),
    tty: Boolean(a.tty),
    streams,
    init: Boolean(a.init),
    network: String(a.network),
    publish: a.publish as string[],
    publishAll: Boolean(a["publish-all"]),
    dns: { dns: a.dns as string[], dnsSearch: a["dns-search"] as string[], dnsOption: a["dns-option"] as string[], addHost: a["add-host"] as string[] },
    imageOptions: imageOptions(a),
    storageDriver: a["storage-driver"] ? parseDriver(String(a["storage-driver"])) : undefined,
    capAdd: a["cap-add"] as string[],
    capDrop: a["cap-drop"] as string[],
    security: parseSecurityOpts(a["security-opt"] as string[]),
    privileged: Boolean(a.privileged),
    limits: limitFlags(a),
    userns: parseUserns(String(a.userns ?? "")),
    ulimits: parseUlimits(a.ulimit as string[]),
    umask: parseUmask(a.umask as string | undefined),
    groupAdd: parseGroupAdd(a["group-add"] as string[]),
    sysctls: a.sysctl as string[],
    devices: parseDevices(a.device as string[]),
  };
}

