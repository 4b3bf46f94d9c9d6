import { join } from "node:path";
import { homedir } from "node:os";
import { ownDirectory, userRuntimeDir } from "./runtime-dir";

/** Where rl keeps state: persistent data (images, layers, containers) and runtime files (sockets, pids). */
export interface Paths {
  data: string;
  /** The runtime dir: created and checked (the user's, writable by nobody else) on first use. */
  readonly runtime: string;
  /** Compressed blobs (manifests, configs, layers) by digest: blobs/sha256/<hex>. */
  blobs: string;
  layers: string;
  containers: string;
  /** Volumes: volumes/NAME/_data is what containers mount. */
  volumes: string;
  db: string;
  tmp: string;
}

export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local/share");
  const data = env.RL_ROOT || join(dataHome, "rl");
  let runtime: string | undefined;
  return {
    data,
    // Checked only when used: commands that never touch it work whatever the runtime dir is.
    get runtime() {
      runtime ??= env.RL_RUNROOT ? ownDirectory(env.RL_RUNROOT, "RL_RUNROOT") : ownDirectory(join(userRuntimeDir(env), "rl"), "the runtime directory");
      return runtime;
    },
    blobs: join(data, "blobs"),
    layers: join(data, "layers"),
    containers: join(data, "containers"),
    volumes: join(data, "volumes"),
    db: join(data, "rl.db"),
    tmp: join(data, "tmp"),
  };
}
