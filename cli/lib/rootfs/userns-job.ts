import { currentMapping, writeIdMaps, type IdMapping } from "../security/idmap";
import { abortChild, releaseChild, spawnChild } from "../sys/executor";
import { strerror } from "../sys/errno";
import { CLONE } from "../sys/clone-flags";
import { describeOp, encodeOps, type Op } from "../sys/ops";
import { StartError } from "../sys/start-error";
import { waitForExit } from "../sys/wait";

/** More than a plain user namespace: other namespaces, steps before the exec, a descriptor to keep. */
export interface UsernsJobSetup {
  /** CLONE flags besides NEWUSER (NEWNS to mount, NEWPID so that a mount's daemon ends with the job). */
  cloneFlags?: number;
  /** Ops (ops.ts) run as root of the namespace before the exec: mounts. */
  ops?: Op[];
  /** A descriptor of rl's the program keeps at its number (see spawnChild). */
  passFd?: number;
}

/**
 * Run a program as root of a fresh user namespace with the user's full id mapping: the way to chown
 * files to subordinate ids and to remove them, with rl's environment and `extraEnv`. Returns its exit code.
 */
export async function runInUserNamespace(argv: string[], mapping: IdMapping = currentMapping(), extraEnv: Record<string, string> = {}, setup: UsernsJobSetup = {}): Promise<number> {
  const env = Object.entries({ ...process.env, ...extraEnv }).map(([k, v]) => `${k}=${v}`);
  const child = spawnChild(CLONE.NEWUSER | (setup.cloneFlags ?? 0), false, undefined, false, 0, false, setup.passFd);
  try {
    writeIdMaps(child.pid, mapping);
  } catch (err) {
    abortChild(child);
    await waitForExit(child.pid);
    throw err;
  }
  const exited = waitForExit(child.pid);
  const ops = [...(setup.ops ?? []), { op: "exec" as const, argv, env }];
  const r = releaseChild(child, encodeOps(ops));
  const code = await exited;
  if (r.failedOp >= 0 && r.errno) {
    const op = ops[Math.min(r.failedOp, ops.length - 1)]!;
    const step = op.op === "exec" ? `run ${argv[0]}` : describeOp(op);
    throw new StartError(`cannot ${step} in a user namespace: ${strerror(r.errno)}`, op, r.errno);
  }
  return code;
}
