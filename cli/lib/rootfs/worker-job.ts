import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { currentMapping, type IdMapping } from "../security/idmap";
import { runInUserNamespace, type UsernsJobSetup } from "./userns-job";
import type { WorkerJob, WorkerResult } from "./userns-worker";
import { removeTree } from "./remove-tree";
import { PACKAGE_ROOT } from "../package-root";
import { ownerTag } from "../store/tmp-name";

const workerPath = join(PACKAGE_ROOT, "cli/lib/rootfs/userns-worker.ts");

/**
 * Run a job of userns-worker.ts as root of a user namespace with the user's mapping. The job and its
 * result live in a fresh directory under `tmpDir` (one of the user's own 0700 dirs, never a shared one
 * such as /tmp, where another user could plant the name), created with a random name and removed
 * afterwards. Throws when the job failed. `setup`: namespaces, mounts and a descriptor the job needs.
 */
export async function runWorkerJob(tmpDir: string, job: WorkerJob, mapping: IdMapping = currentMapping(), setup?: UsernsJobSetup): Promise<WorkerResult> {
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 });
  // Named like tmp/'s other entries, so that the debris cleaner removes it when this rl dies.
  const dir = mkdtempSync(join(tmpDir, `job-${ownerTag()}-`));
  const jobFile = join(dir, "job.json");
  try {
    writeFileSync(jobFile, JSON.stringify(job), { flag: "wx", mode: 0o600 });
    // In the rl executable, process.execPath is rl itself: BUN_BE_BUN makes it run the worker as bun would.
    const code = await runInUserNamespace([process.execPath, workerPath, jobFile], mapping, { BUN_BE_BUN: "1" }, setup);
    let result: WorkerResult;
    try {
      result = JSON.parse(readFileSync(`${jobFile}.result`, "utf8"));
    } catch {
      throw new RlError(`the ${job.kind} process ended with exit code ${code} and no result`);
    }
    if (!result.ok) throw new RlError(result.error ?? "unknown error", undefined, result.code);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** rm -rf of `paths`; when some belong to subordinate ids, they are removed from inside a user namespace. */
export async function removePaths(tmpDir: string, paths: string[]): Promise<void> {
  try {
    for (const path of paths) removeTree(path);
  } catch {
    await runWorkerJob(tmpDir, { kind: "remove", paths });
  }
}
