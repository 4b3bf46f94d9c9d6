import type { PullPolicy } from "../registry/pull-policy";
import type { RegistryOptions } from "../registry/options";
import type { UsernsMode } from "../security/userns";
import type { SecurityOpts } from "../security/security-opts";
import type { StorageDriver } from "../rootfs/driver";
import type { DnsOptions } from "../network/etc-files";
import type { DeviceBind, GroupAdd, Rlimit } from "./process-options";
import type { AttachStreams } from "./attach-streams";
import type { HealthConfig } from "./health-options";
import type { LogDriver, LogOptions } from "./log-options";
import type { RestartPolicy } from "./restart-policy";
import type { LimitFlags } from "./cgroup/limits";

/**
 * A container's configuration: plain data (JSON: the stored config of stored-config.ts), what the CLI's
 * flags become (cli/commands/run.ts runOptions) and what the engine creates a container from.
 */
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
  /** run -a: the streams attached (the others: stdin closed, output discarded); undefined: all. */
  streams?: AttachStreams;
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

/** How `run` gets its image from a registry (--pull, --tls-verify, --creds, --authfile, -q). */
export interface ImageOptions extends RegistryOptions {
  platform?: string;
  os?: string;
  arch?: string;
  variant?: string;
  pull?: PullPolicy;
  quiet?: boolean;
}

