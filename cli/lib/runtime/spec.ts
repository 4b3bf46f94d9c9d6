import type { DeviceBind, Rlimit } from "./process-options";
import { readFileSync } from "node:fs";
import { RlError } from "../errors";
import type { ImageConfig } from "../image/types";
import type { ContainerSecurity } from "../security/container-security";
import type { ResolvedUser } from "./user";
import type { Resources } from "./cgroup/limits";

/** The subset of the OCI runtime-spec config.json that rl produces and applies. */
export interface Spec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[]; umask?: number };
    rlimits?: Rlimit[];
    args: string[];
    env: string[];
    cwd: string;
    capabilities: ContainerSecurity["capabilities"];
    noNewPrivileges: boolean;
    /** --oom-score-adj. */
    oomScoreAdj?: number;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  linux: {
    /** `path`: join that namespace (another container's) instead of creating one. */
    namespaces: { type: "user" | "mount" | "pid" | "uts" | "ipc" | "network" | "cgroup"; path?: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
    seccomp?: ContainerSecurity["seccomp"];
    sysctl?: Record<string, string>;
    uidMappings?: { containerID: number; hostID: number; size: number }[];
    gidMappings?: { containerID: number; hostID: number; size: number }[];
    /** --device: bound from `source` (rootless: a bind, as podman). */
    devices?: DeviceBind[];
    /** The resource limits (rl run's flags, changed by rl update), applied through the container's cgroup. */
    resources?: Resources;
  };
  annotations: Record<string, string>;
}

export interface ProcessOptions {
  command: string[];
  entrypoint?: string;
  env: string[];
  envFiles: string[];
  workdir?: string;
  tty: boolean;
}

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** docker's rules: --entrypoint replaces Entrypoint and drops the image's Cmd; a command replaces Cmd. */
export function processArgs(image: ImageConfig["config"], o: Pick<ProcessOptions, "command" | "entrypoint">): string[] {
  let entrypoint = image?.Entrypoint ?? [];
  let cmd = image?.Cmd ?? [];
  if (o.entrypoint !== undefined) {
    entrypoint = o.entrypoint === "" ? [] : [o.entrypoint];
    cmd = [];
  }
  if (o.command.length) cmd = o.command;
  const args = [...entrypoint, ...cmd];
  if (!args.length) throw new RlError("no command specified: the image has no Entrypoint or Cmd; give one after the image name");
  return args;
}

/**
 * `-e` values, as podman takes them: `KEY=VALUE` exactly as typed (white space kept), an empty one
 * ignored, `KEY` alone takes the value from rl's environment (skipped when unset).
 */
export function parseEnvFlags(entries: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const entry of entries) {
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    if (eq === 0) throw new RlError(`invalid environment variable ${JSON.stringify(entry)}: no name`);
    if (eq > 0) out.push(entry);
    else if (hostEnv[entry] !== undefined) out.push(`${entry}=${hostEnv[entry]}`);
  }
  return out;
}

/** An env file's lines: blank lines and `#` comments skipped, leading white space dropped; else as `-e`. */
export function parseEnvFile(lines: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const entries = lines.map((l) => l.replace(/^\s+/, "")).filter((l) => l !== "" && !l.startsWith("#"));
  return parseEnvFlags(entries, hostEnv);
}

export function readEnvFile(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n");
  } catch (err) {
    throw new RlError(`cannot read env file ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
}

/** Later entries override earlier ones with the same key, keeping the first position. */
export function mergeEnv(...lists: string[][]): string[] {
  const map = new Map<string, string>();
  for (const list of lists) for (const kv of list) map.set(kv.slice(0, kv.indexOf("=") >>> 0), kv);
  return [...map.values()];
}

/** What --env-file and -e give, in that order (KEY alone: rl's own value), as KEY=VALUE entries. */
export function userEnv(o: { env: string[]; envFiles: string[] }): string[] {
  return [...o.envFiles.flatMap((f) => parseEnvFile(readEnvFile(f), process.env)), ...parseEnvFlags(o.env, process.env)];
}

export function processEnv(image: ImageConfig["config"], o: ProcessOptions, hostname: string, user: ResolvedUser): string[] {
  const base = [DEFAULT_PATH, `HOSTNAME=${hostname}`, ...(o.tty ? ["TERM=xterm"] : []), `HOME=${user.home || "/"}`];
  return mergeEnv(base, image?.Env ?? [], userEnv(o));
}
