import type { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { debug } from "../log";
import type { Paths } from "../paths";
import { removePaths } from "../rootfs/worker-job";
import { ownProcess, processAlive } from "../sys/pid-start-time";
import { transaction } from "./db";
import { STORE_EXCLUSIVE, STORE_SHARED, tryWithLocks, withLocks } from "./locks";
import { pauseForTests } from "../test-pause";
import { referenced } from "./unreferenced";
import { collectUnreferenced, owingCollection, setAside } from "./collect";

/**
 * What a store write creates: a layer directory (by chain id) or a blob (by digest), as hex. (Rows of kind
 * "gc", hex "", are a collection owed by an rmi or prune: collect.ts.)
 */
export type PendingKind = "layer" | "blob";
interface Owner {
  pid: number;
  pid_start: string;
}
interface PendingRow extends Owner {
  kind: PendingKind;
  hex: string;
}

/**
 * One all-or-nothing change to the image store (a load, a pull, the image of a run, an import). Every
 * layer directory and blob it is about to create is claimed first: a row naming it and its owner (pid
 * and start time) in pending_writes, committed before the layer or blob lands. `commit` records the
 * images and clears the claims in one transaction. A write that fails removes what it claimed that no
 * image refers to (`undo`); what a killed one claimed is removed by the next rl (dropDeadWrites).
 */
export class StoreWrite {
  private claims = 0;
  constructor(
    readonly d: Database,
    readonly p: Paths,
  ) {}

  /** Claim layers or blobs this write will create (call before they land, once they are known to be missing). */
  claim(kind: PendingKind, hexes: string[]): void {
    if (!hexes.length) return;
    const own = ownProcess();
    transaction(this.d, this.p.db, () => {
      const q = this.d.query("INSERT OR IGNORE INTO pending_writes (kind, hex, pid, pid_start) VALUES (?, ?, ?, ?)");
      for (const h of hexes) q.run(kind, h, own.pid, own.start);
    });
    this.claims += hexes.length;
  }

  /** Run `record` (the rows that make what this write created referenced) in one transaction with the release of its claims. */
  commit<T>(record: () => T): T {
    pauseForTests("RL_TEST_PAUSE_BEFORE_COMMIT");
    const own = ownProcess();
    const out = transaction(this.d, this.p.db, () => {
      const r = record();
      this.d.query("DELETE FROM pending_writes WHERE pid = ? AND pid_start = ?").run(own.pid, own.start);
      return r;
    });
    this.claims = 0;
    return out;
  }

  /** After a failure: remove what this write claimed and no image refers to. */
  async undo(): Promise<void> {
    if (!this.claims) return;
    pauseForTests("RL_TEST_PAUSE_BEFORE_UNDO");
    const own = ownProcess();
    await withLocks(this.p, [STORE_EXCLUSIVE], () => dropWrites(this.d, this.p, [{ pid: own.pid, pid_start: own.start }]));
    this.claims = 0;
  }
}

/**
 * Run `fn` as one store write. The store lock is held shared from `fn`'s first look at the store to its
 * commit, so garbage collection and the undoing of other writes (which hold it exclusively) never remove
 * a layer or blob `fn` found in the store and is about to record. On failure the lock is released
 * before the undo takes it exclusively (when the other writes are done).
 */
export async function withStoreWrite<T>(d: Database, p: Paths, fn: (w: StoreWrite) => Promise<T>): Promise<T> {
  const w = new StoreWrite(d, p);
  try {
    return await withLocks(p, [STORE_SHARED], () => fn(w));
  } catch (err) {
    // A failed undo leaves its claims: once this process is gone, the next rl removes them.
    await w.undo().catch((e) => debug(`undoing the store write: ${(e as Error).message}`));
    throw err;
  }
}

/** Owners of claims that are gone: killed, or crashed, before committing or undoing. */
export function deadOwners(d: Database): Owner[] {
  const owners = d.query("SELECT DISTINCT pid, pid_start FROM pending_writes").all() as Owner[];
  return owners.filter((o) => !processAlive(o.pid, o.pid_start));
}

/**
 * Remove the debris of store writes whose rl died before committing. Only when the store lock is free
 * now: a running write may have found that debris in the store and be about to record it (it is then
 * referenced and kept); a later rl removes the rest.
 */
export async function dropDeadWrites(d: Database, p: Paths): Promise<void> {
  const dead = deadOwners(d);
  if (!dead.length) return;
  await tryWithLocks(p, [STORE_EXCLUSIVE], async () => {
    // A killed rmi or prune: its images are gone, the layers and blobs only they used not yet.
    const owing = owingCollection(d, dead);
    if (owing.length) await collectUnreferenced(d, p, owing);
    await dropWrites(d, p, dead);
  });
}

/**
 * Remove the layers and blobs `owners` claimed that no image refers to and no other live writer claims,
 * then forget their claims. The caller holds the store lock exclusively.
 */
export async function dropWrites(d: Database, p: Paths, owners: Owner[]): Promise<void> {
  if (!owners.length) return;
  const isOwner = (r: Owner) => owners.some((o) => o.pid === r.pid && o.pid_start === r.pid_start);
  const rows = d.query("SELECT kind, hex, pid, pid_start FROM pending_writes").all() as PendingRow[];
  const live = new Set(rows.filter((r) => !isOwner(r) && processAlive(r.pid, r.pid_start)).map((r) => `${r.kind}:${r.hex}`));
  const used = referenced(d, p);
  const drop = (kind: PendingKind, keep: Set<string>) => [...new Set(rows.filter((r) => isOwner(r) && r.kind === kind && !keep.has(r.hex) && !live.has(`${kind}:${r.hex}`)).map((r) => r.hex))];
  const layers = drop("layer", used.layers);
  for (const h of drop("blob", used.blobs)) rmSync(join(p.blobs, "sha256", h), { force: true });
  // As collectUnreferenced: out of layers/ first, then the records, then the files.
  const aside = await setAside(p, layers, "drop");
  transaction(d, p.db, () => {
    for (const o of owners) d.query("DELETE FROM pending_writes WHERE pid = ? AND pid_start = ?").run(o.pid, o.pid_start);
    for (const h of layers) {
      d.query("DELETE FROM layers WHERE chain_id = ?").run(`sha256:${h}`);
      d.query("DELETE FROM layer_sizes WHERE chain_id = ?").run(`sha256:${h}`);
    }
  });
  if (aside.length) await removePaths(p.tmp, aside);
}
