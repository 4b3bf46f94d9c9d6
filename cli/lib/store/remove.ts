import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { containersOfImage } from "./containers-table";
import { ownProcess } from "../sys/pid-start-time";
import { pauseForTests } from "../test-pause";
import { collectUnreferenced, owesCollection } from "./collect";
import { transaction } from "./db";
import { listImages, type StoredImage } from "./images";
import { STORE_EXCLUSIVE, withLocks } from "./locks";
import { deadOwners, dropWrites } from "./store-write";

/** What rmi and prune did, in podman's words: "Untagged: NAME", "Deleted: ID". */
export type RemoveEvent = { untagged: string } | { deleted: string };

/** Delete the images' rows in one transaction (all or none), noting the collection their layers and blobs are owed. */
export function deleteImageRows(d: Database, p: Paths, imgs: StoredImage[]): RemoveEvent[] {
  if (!imgs.length) return [];
  transaction(d, p.db, () => {
    owesCollection(d);
    for (const img of imgs) {
      d.query("DELETE FROM image_names WHERE image_id = ?").run(img.id);
      d.query("DELETE FROM image_repo_digests WHERE image_id = ?").run(img.id);
      d.query("DELETE FROM images WHERE id = ?").run(img.id);
    }
  });
  return imgs.flatMap((img) => [...img.names.map((n) => ({ untagged: n })), { deleted: img.id }]);
}

/** `image prune`: images without names (with `all`, every image) that no container uses. */
/** Remove unnamed images (`all`: every image) that no container uses and that `matches` (prune's --filter) keeps in. */
export function pruneImages(d: Database, p: Paths, all: boolean, matches: (img: StoredImage) => boolean = () => true): RemoveEvent[] {
  // Chosen inside the transaction: a container that starts to use an image meanwhile keeps it.
  return transaction(d, p.db, () => deleteImageRows(d, p, listImages(d).filter((img) => (all || !img.names.length) && !containersOfImage(d, img.id).length && matches(img))));
}

/**
 * Delete layers and blobs no image refers to (a container keeps its image, and so its layers), with what
 * killed rl processes left unfinished. Holds the store lock exclusively: a process storing an image holds
 * it shared until its row is written, so nothing it is about to record can be collected.
 */
export async function collectGarbage(d: Database, p: Paths): Promise<{ layers: number; blobs: number }> {
  return withLocks(p, [STORE_EXCLUSIVE], async () => {
    pauseForTests("RL_TEST_PAUSE_BEFORE_COLLECT");
    const own = ownProcess();
    const dead = deadOwners(d);
    const done = await collectUnreferenced(d, p, [{ pid: own.pid, pid_start: own.start }, ...dead]);
    // Claims of killed writers: what they created went above with the rest (no image uses it).
    await dropWrites(d, p, dead);
    return done;
  });
}
