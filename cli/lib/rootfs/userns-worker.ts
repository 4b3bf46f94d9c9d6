/**
 * Entry point run by Bun inside a user namespace (see runInUserNamespace): jobs that must act as the
 * mapped ids. Usage: bun userns-worker.ts JOB.json; writes JOB.json.result atomically.
 */
import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync, openSync, closeSync, fsyncSync } from "node:fs";
import { writeAll } from "../write-all";
import { join } from "node:path";
import { tarEntries } from "../image/tar-entries";
import { openLayer, type LayerDigests } from "../image/layer-stream";
import type { LayerSource } from "../image/types";
import { applyLayer } from "./apply-layer";
import { removeTree } from "./remove-tree";
import { appendEtcLine, flattenLayers } from "./flatten";
import { reownId, type IdLine } from "../security/idmap";
import type { DigestEngine } from "../image/digest-engine";
import { exportTree } from "./export-tree";
import { chownTree, fillVolume } from "./volume-files";
import type { OutputTarget } from "../output-file";
import { copyFiles, type CopyJob } from "./copy-files";

type IdLines = { uid: IdLine[]; gid: IdLine[] };

export type WorkerJob =
  | {
      kind: "unpack";
      /**
       * `blob`: also keep the stored bytes, written to `tmp` and left there once verified: rl renames
       * them into the blob store after claiming the digest (store-write.ts). Verified layers land in
       * `layersDir` (the caller claimed them before the job started).
       */
      layers: (LayerSource & { chainId: string; blob?: { tmp: string } })[];
      layersDir: string;
      tmpDir: string;
      chown: boolean;
      idLimit: { uids: number; gids: number };
      /** The SHA-256 engine the calling rl chose, so the worker need not measure again. */
      digestEngine?: DigestEngine;
    }
  | { kind: "remove"; paths: string[] }
  /** rename(2) as root of the namespace: a directory owned by a subordinate id can move to another parent. */
  | { kind: "rename"; moves: { from: string; to: string }[] }
  /**
   * `owners`: the copy's owners for a container that maps ids otherwise than the store (--userns):
   * each file gets the id that shows it, in that container, with the owner it has in the store.
   * `etc`: lines to add to the copy's /etc/passwd and /etc/group.
   */
  | { kind: "flatten"; layerDirs: string[]; dest: string; owners?: { stored: IdLines; container: IdLines }; etc?: { passwd?: string; group?: string } }
  /** Write the merged tree of `dirs` (top first, overlay format) as a tar to `output` (atomically), or to stdout. */
  | { kind: "export"; dirs: string[]; output?: OutputTarget }
  /** Fill each new volume directory `dest` from the image's directory `path`, then chown -R those asked (:U). */
  | { kind: "volumes"; layerDirs: string[]; fills: { path: string; dest: string }[]; chowns: { dir: string; uid: number; gid: number }[] }
  /** `rl cp`: see copy-files.ts. */
  | CopyJob;

export interface WorkerResult {
  ok: boolean;
  error?: string;
  /** The errno name of the error, when it was one (EPIPE: the reader of stdout went away). */
  code?: string;
  /** export, cp: files that changed size while they were read. */
  changed?: string[];
  skippedDevices?: string[];
  /** unpack: what each layer turned out to be, in job order. */
  layers?: LayerDigests[];
  /** volumes: whether each fill copied the image's directory. */
  filled?: boolean[];
}

async function unpack(job: Extract<WorkerJob, { kind: "unpack" }>): Promise<WorkerResult> {
  const skipped: string[] = [];
  if (job.digestEngine) process.env.RL_DIGEST_ENGINE = job.digestEngine;
  const digests: LayerDigests[] = [];
  mkdirSync(job.tmpDir, { recursive: true });
  for (const layer of job.layers) {
    const hex = layer.chainId.replace(/^sha256:/, "");
    const tmp = join(job.tmpDir, hex);
    mkdirSync(tmp, { mode: 0o755 });
    const blobFd = layer.blob ? openSync(layer.blob.tmp, "w", 0o600) : undefined;
    const tee = blobFd === undefined ? undefined : (c: Uint8Array) => writeAll(blobFd, c);
    const { chunks, verify } = openLayer(layer, tee);
    const it = chunks[Symbol.asyncIterator]();
    // The tar reader stops at the end marker; the padding after it still counts for the diff_id.
    const unclosable = { [Symbol.asyncIterator]: () => ({ next: () => it.next() }) };
    const r = await applyLayer(tarEntries(unclosable), tmp, { chown: job.chown, idLimit: job.idLimit });
    while (!(await it.next()).done) {}
    const d = verify();
    digests.push(d);
    if (blobFd !== undefined) {
      fsyncSync(blobFd);
      closeSync(blobFd);
    }
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
  return { ok: true, skippedDevices: skipped, layers: digests };
}

async function main(): Promise<void> {
  const jobFile = process.argv[2]!;
  const job = JSON.parse(readFileSync(jobFile, "utf8")) as WorkerJob;
  let result: WorkerResult;
  try {
    if (job.kind === "unpack") result = await unpack(job);
    else if (job.kind === "flatten") {
      const o = job.owners;
      flattenLayers(job.layerDirs, job.dest, o && ((u, g) => [reownId(o.stored.uid, o.container.uid, u), reownId(o.stored.gid, o.container.gid, g)]));
      if (job.etc?.passwd) appendEtcLine(job.dest, "passwd", job.etc.passwd);
      if (job.etc?.group) appendEtcLine(job.dest, "group", job.etc.group);
      result = { ok: true };
    } else if (job.kind === "export") result = exportTree(job.dirs, job.output);
    else if (job.kind === "copy") result = await copyFiles(job);
    else if (job.kind === "rename") {
      for (const m of job.moves) renameSync(m.from, m.to);
      result = { ok: true };
    } else if (job.kind === "volumes") {
      const filled = job.fills.map((f) => fillVolume(job.layerDirs, f.path, f.dest));
      for (const c of job.chowns) chownTree(c.dir, c.uid, c.gid);
      result = { ok: true, filled };
    } else {
      for (const p of job.paths) removeTree(p);
      result = { ok: true };
    }
  } catch (err) {
    if (job.kind === "unpack") {
      removeTree(job.tmpDir);
      for (const l of job.layers) if (l.blob) rmSync(l.blob.tmp, { force: true });
    }
    if (job.kind === "flatten") removeTree(job.dest);
    const e = err as NodeJS.ErrnoException;
    result = { ok: false, error: e.message ?? String(err), code: e.code };
  }
  writeFileSync(`${jobFile}.result.tmp`, JSON.stringify(result));
  renameSync(`${jobFile}.result.tmp`, `${jobFile}.result`);
}

if (import.meta.main) await main();
