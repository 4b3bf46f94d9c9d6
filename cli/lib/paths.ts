import { join } from "node:path";
import { homedir } from "node:os";

/** Where rl keeps state: persistent data (images, layers, containers) and runtime files (sockets, pids). */
export interface Paths {
  data: string;
  runtime: string;
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
    layers: join(data, "layers"),
    containers: join(data, "containers"),
    db: join(data, "rl.db"),
    tmp: join(data, "tmp"),
  };
}
