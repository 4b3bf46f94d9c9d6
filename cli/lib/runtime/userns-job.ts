import { RlError } from "../errors";
import { currentMapping, writeIdMaps, type IdMapping } from "../security/idmap";
import { abortChild, releaseChild, spawnChild } from "../sys/executor";
import { strerror } from "../sys/errno";
import { CLONE } from "./clone-flags";
import { encodeOps } from "./ops";
import { waitForExit } from "./wait";

/**
 * Run a program as root of a fresh user namespace with the user's full id mapping: the way to chown
 * files to subordinate ids and to remove them, with rl's environment and `extraEnv`. Returns its exit code.
 */
export async function runInUserNamespace(argv: string[], mapping: IdMapping = currentMapping(), extraEnv: Record<string, string> = {}): Promise<number> {
  const env = Object.entries({ ...process.env, ...extraEnv }).map(([k, v]) => `${k}=${v}`);
  const child = spawnChild(CLONE.NEWUSER, false);
  try {
    writeIdMaps(child.pid, mapping);
  } catch (err) {
    abortChild(child);
    await waitForExit(child.pid);
    throw err;
  }
  const exited = waitForExit(child.pid);
  const r = releaseChild(child, encodeOps([{ op: "exec", argv, env }]));
  const code = await exited;
  if (r.failedOp >= 0 && r.errno) throw new RlError(`cannot run ${argv[0]} in a user namespace: ${strerror(r.errno)}`);
  return code;
}
