import type { Database } from "bun:sqlite";
import { writeAll } from "../write-all";
import { closeSync, copyFileSync, mkdirSync, openSync, readSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { containerDir, findContainer } from "../runtime/containers";
import { runWorkerJob } from "../rootfs/worker-job";
import type { IdMapping } from "../security/idmap";
import { cleanDebris } from "./debris";
import { tmpName } from "./tmp-name";
import { findImage, layerDir } from "./images";

/**
 * `export`: the container's filesystem (its image's layers under its writable layer, whiteouts
 * honoured) as a tar, to `output` or stdout. The files belong to subordinate ids, so the tar is
 * written from inside a user namespace, where their owners read as the container's ids.
 */
export async function exportContainer(d: Database, p: Paths, text: string, output: string | undefined, mapping: IdMapping): Promise<void> {
  await cleanDebris(d, p);
  const c = findContainer(d, text);
  if (!c) throw new RlError(`no such container: ${text}`);
  const img = findImage(d, c.image_id);
  if (!img) throw new RlError(`the image ${c.image_id.slice(7, 19)} of container ${c.name} is gone`);
  const dir = containerDir(p, c.id);
  const dirs = c.driver === "vfs" ? [join(dir, "rootfs")] : [join(dir, "upper"), ...[...img.layers].reverse().map((l) => layerDir(p, l))];
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  const tmp = `${tmpName(p, "export")}.tar`;
  try {
    await runWorkerJob(p.tmp, { kind: "export", dirs, output: tmp }, mapping);
    if (output) {
      try {
        renameSync(tmp, output);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        copyFileSync(tmp, output);
      }
      return;
    }
    const fd = openSync(tmp, "r");
    try {
      const buf = new Uint8Array(1 << 20);
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
        writeAll(1, buf, n);
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}
