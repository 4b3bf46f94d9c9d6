import type { Database } from "bun:sqlite";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Paths } from "../paths";
import { removePaths, runWorkerJob } from "../rootfs/worker-job";
import { ownProcess } from "../sys/pid-start-time";
import { transaction } from "./db";
import { layerDir } from "./images";
import { tmpName } from "./tmp-name";
import { unreferenced } from "./unreferenced";

type Owner = { pid: number; pid_start: string };

/**
 * Note, inside the transaction that deletes image rows, that this process owes the store a garbage
 * collection: a claim of kind "gc" in pending_writes. collectUnreferenced clears it; when this process
 * is killed before, the next rl's sweep sees a dead owner's claim and collects in its place.
 */
export function owesCollection(d: Database): void {
  const own = ownProcess();
  d.query("INSERT OR IGNORE INTO pending_writes (kind, hex, pid, pid_start) VALUES ('gc', '', ?, ?)").run(own.pid, own.start);
}

/** Owners among `owners` that owe a collection (see owesCollection). */
export function owingCollection(d: Database, owners: Owner[]): Owner[] {
  const q = d.query("SELECT 1 FROM pending_writes WHERE kind = 'gc' AND pid = ? AND pid_start = ?");
  return owners.filter((o) => q.get(o.pid, o.pid_start));
}

/**
 * Rename layer directories (chain id hexes) out of layers/ into tmp/, under names carrying this process:
 * the first step of deleting them, atomic. Returns where they went (layers without a directory are skipped).
 */
export async function setAside(p: Paths, hexes: string[], kind: string): Promise<string[]> {
  if (!hexes.length) return [];
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  const aside: string[] = [];
  const denied: { from: string; to: string }[] = [];
  for (const h of hexes) {
    const move = { from: layerDir(p, h), to: tmpName(p, kind) };
    try {
      renameSync(move.from, move.to);
      aside.push(move.to);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Moving a directory to another parent rewrites its "..": a layer whose root belongs to a
      // subordinate id moves from inside the user namespace.
      if (code === "EACCES" || code === "EPERM") denied.push(move);
      else if (code !== "ENOENT") throw err;
    }
  }
  if (denied.length) {
    await runWorkerJob(p.tmp, { kind: "rename", moves: denied });
    aside.push(...denied.map((m) => m.to));
  }
  return aside;
}

/**
 * Delete the layers and blobs no image refers to, as atomically as they were stored. The caller holds the
 * store lock exclusively, so no store write is under way and nothing unreferenced is about to be recorded.
 * Each layer directory is first renamed into tmp/ (under a name carrying this process), then its records
 * go in one transaction with the collection claims of `settled`, then its files. A kill leaves a layer
 * recorded without its directory (not complete: a pull unpacks it again) or a tmp/ entry of a dead process
 * (the sweep removes it), never a half-deleted directory under layers/. Blobs go by unlink, atomic already.
 */
export async function collectUnreferenced(d: Database, p: Paths, settled: Owner[]): Promise<{ layers: number; blobs: number }> {
  const { layers, blobs } = unreferenced(d, p);
  for (const h of blobs) rmSync(join(p.blobs, "sha256", h), { force: true });
  const aside = await setAside(p, layers, "gc");
  transaction(d, p.db, () => {
    for (const h of layers) {
      d.query("DELETE FROM layers WHERE chain_id = ?").run(`sha256:${h}`);
      d.query("DELETE FROM layer_sizes WHERE chain_id = ?").run(`sha256:${h}`);
    }
    for (const o of settled) d.query("DELETE FROM pending_writes WHERE kind = 'gc' AND pid = ? AND pid_start = ?").run(o.pid, o.pid_start);
  });
  // Unpacked layers hold files of subordinate ids: removed from inside a user namespace when needed.
  if (aside.length) await removePaths(p.tmp, aside);
  return { layers: layers.length, blobs: blobs.length };
}
