/**
 * Entry point run by Bun inside a user namespace (see runInUserNamespace): jobs that must act as the
 * mapped ids. Usage: bun userns-worker.ts JOB.json; writes JOB.json.result atomically.
 */
import { readFileSync, renameSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { tarEntries } from "../image/tar-entries";
import { openLayer } from "../image/layer-stream";
import type { LayerSource } from "../image/types";
import { applyLayer } from "./apply-layer";
import { removeTree } from "./remove-tree";
import { flattenLayers } from "./flatten";
import type { DigestEngine } from "../image/digest-engine";

export type WorkerJob =
  | {
      kind: "unpack";
      layers: (LayerSource & { chainId: string })[];
      layersDir: string;
      tmpDir: string;
      chown: boolean;
      idLimit: { uids: number; gids: number };
      /** The SHA-256 engine the calling rl chose, so the worker need not measure again. */
      digestEngine?: DigestEngine;
    }
  | { kind: "remove"; paths: string[] }
  | { kind: "flatten"; layerDirs: string[]; dest: string };

export interface WorkerResult {
  ok: boolean;
  error?: string;
  skippedDevices?: string[];
}

async function unpack(job: Extract<WorkerJob, { kind: "unpack" }>): Promise<WorkerResult> {
  const skipped: string[] = [];
  if (job.digestEngine) process.env.RL_DIGEST_ENGINE = job.digestEngine;
  mkdirSync(job.tmpDir, { recursive: true });
  for (const layer of job.layers) {
    const hex = layer.chainId.replace(/^sha256:/, "");
    const tmp = join(job.tmpDir, hex);
    mkdirSync(tmp, { mode: 0o755 });
    const { chunks, verify } = openLayer(layer);
    const it = chunks[Symbol.asyncIterator]();
    // The tar reader stops at the end marker; the padding after it still counts for the diff_id.
    const unclosable = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
    const r = await applyLayer(tarEntries(unclosable), tmp, { chown: job.chown, idLimit: job.idLimit });
    while (!(await it.next()).done) {}
    verify();
    skipped.push(...r.skippedDevices);
    try {
      renameSync(tmp, join(job.layersDir, hex));
    } catch (err) {
      // Another rl unpacked the same layer meanwhile: keep theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
      removeTree(tmp);
    }
  }
  removeTree(job.tmpDir);
  return { ok: true, skippedDevices: skipped };
}

async function main(): Promise<void> {
  const jobFile = process.argv[2]!;
  const job = JSON.parse(readFileSync(jobFile, "utf8")) as WorkerJob;
  let result: WorkerResult;
  try {
    if (job.kind === "unpack") result = await unpack(job);
    else if (job.kind === "flatten") {
      flattenLayers(job.layerDirs, job.dest);
      result = { ok: true };
    } else {
      for (const p of job.paths) removeTree(p);
      result = { ok: true };
    }
  } catch (err) {
    if (job.kind === "unpack") removeTree(job.tmpDir);
    if (job.kind === "flatten") removeTree(job.dest);
    const e = err as NodeJS.ErrnoException;
    result = { ok: false, error: e.message ?? String(err) };
  }
  writeFileSync(`${jobFile}.result.tmp`, JSON.stringify(result));
  renameSync(`${jobFile}.result.tmp`, `${jobFile}.result`);
}

if (import.meta.main) await main();
