import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RlError } from "../errors";
import { currentMapping, type IdMapping } from "../security/idmap";
import { runInUserNamespace } from "../runtime/userns-job";
import type { WorkerJob, WorkerResult } from "./userns-worker";
import { removeTree } from "./remove-tree";
import { PACKAGE_ROOT } from "../package-root";
import { ownerTag } from "../store/tmp-name";

const workerPath = join(PACKAGE_ROOT, "cli/lib/rootfs/userns-worker.ts");

/**
 * Run a job of userns-worker.ts as root of a user namespace with the user's mapping: the job goes in
 * `jobFile`, the result comes back beside it; both are removed afterwards. Throws when the job failed.
 */
export async function runWorkerJob(jobFile: string, job: WorkerJob, mapping: IdMapping = currentMapping()): Promise<WorkerResult> {
  mkdirSync(dirname(jobFile), { recursive: true, mode: 0o700 });
  writeFileSync(jobFile, JSON.stringify(job));
  try {
    // In the rl executable, process.execPath is rl itself: BUN_BE_BUN makes it run the worker as bun would.
    const code = await runInUserNamespace([process.execPath, workerPath, jobFile], mapping, { BUN_BE_BUN: "1" });
    let result: WorkerResult;
    try {
      result = JSON.parse(readFileSync(`${jobFile}.result`, "utf8"));
    } catch {
      throw new RlError(`the ${job.kind} process ended with exit code ${code} and no result`);
    }
    if (!result.ok) throw new RlError(result.error ?? "unknown error", undefined, result.code);
    return result;
  } finally {
    rmSync(jobFile, { force: true });
    rmSync(`${jobFile}.result`, { force: true });
  }
}

/** rm -rf of `paths`; when some belong to subordinate ids, they are removed from inside a user namespace. */
export async function removePaths(tmpDir: string, paths: string[], tag: string): Promise<void> {
  try {
    for (const path of paths) removeTree(path);
  } catch {
    await runWorkerJob(join(tmpDir, `remove-${ownerTag()}-${tag}.json`), { kind: "remove", paths });
  }
}
