import { join } from "node:path";
import { homedir } from "node:os";

/** Where rl keeps state: persistent data (images, layers, containers) and runtime files (sockets, pids). */
export interface Paths {
  data: string;
  runtime: string;
  /** Compressed blobs (manifests, configs, layers) by digest: blobs/sha256/<hex>. */
  blobs: string;
  layers: string;
  containers: string;
  db: string;
  tmp: string;
}

export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local/share");
  const data = env.RL_ROOT || join(dataHome, "rl");
  const uid = process.getuid?.() ?? 0;
  const runtime = env.RL_RUNROOT || join(env.XDG_RUNTIME_DIR || `/tmp/rl-run-${uid}`, "rl");
  return {
    data,
    runtime,
    blobs: join(data, "blobs"),
    layers: join(data, "layers"),
    containers: join(data, "containers"),
    db: join(data, "rl.db"),
    tmp: join(data, "tmp"),
  };
}
