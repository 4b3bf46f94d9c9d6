import type { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { warnOnce } from "../log";
import { outputTarget, writingOutput } from "../output-file";
import type { Paths } from "../paths";
import { containerDir, requireContainer } from "./containers-table";
import { runWorkerJob } from "../rootfs/worker-job";
import type { IdMapping } from "../security/idmap";
import { findImage, layerDir } from "./images";

/**
 * `export`: the container's filesystem (its image's layers under its writable layer, whiteouts
 * honoured) as a tar, to `output` (atomically) or stdout, streamed as it is read. The files belong to
 * subordinate ids, so the tar is written from inside a user namespace, where their owners read as the
 * container's ids; that process writes to rl's stdout (or the output file) itself.
 */
export async function exportContainer(d: Database, p: Paths, text: string, output: string | undefined, mapping: IdMapping): Promise<void> {
  const c = requireContainer(d, text);
  const img = findImage(d, c.image_id);
  if (!img) throw new RlError(`the image ${c.image_id.slice(7, 19)} of container ${c.name} is gone`);
  const dir = containerDir(p, c.id);
  const dirs = c.driver === "vfs" ? [join(dir, "rootfs")] : [join(dir, "upper"), ...[...img.layers].reverse().map((l) => layerDir(p, l))];
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  // The worker writes the file; rl removes its temp if the worker dies or rl is interrupted.
  const target = outputTarget(output);
  const r = await writingOutput(target, () => runWorkerJob(p.tmp, { kind: "export", dirs, output: target }, mapping));
  warnShrunk(c.name, r.changed ?? []);
}

/** The warning for files of a running container that shrank while an archive of them was written. */
export function warnShrunk(container: string, changed: string[]): void {
  if (!changed.length) return;
  const some = `${changed.slice(0, 3).join(", ")}${changed.length > 3 ? ", ..." : ""}`;
  warnOnce(`${changed.length} file(s) of ${container} shrank while they were read (the container is running); padded with zeros: ${some}`);
}
