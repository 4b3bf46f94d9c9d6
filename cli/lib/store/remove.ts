import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import type { Paths } from "../paths";
import { killForRemoval, removeContainer, type ContainerRow } from "../runtime/containers";
import { ownProcess } from "../sys/pid-start-time";
import { pauseForTests } from "../test-pause";
import { collectUnreferenced, owesCollection } from "./collect";
import { transaction } from "./db";
import { findImage, listImages, type StoredImage } from "./images";
import { STORE_EXCLUSIVE, withLocks } from "./locks";
import { deadOwners, dropWrites } from "./store-write";

/** What rmi and prune did, in podman's words: "Untagged: NAME", "Deleted: ID". */
export type RemoveEvent = { untagged: string } | { deleted: string };

function containersOf(d: Database, imageId: string): ContainerRow[] {
  return d.query("SELECT * FROM containers WHERE image_id = ?").all(imageId) as ContainerRow[];
}

async function removeContainersOf(d: Database, p: Paths, imageId: string): Promise<void> {
  for (const c of containersOf(d, imageId)) {
    if (c.state === "running") killForRemoval(d, p, c);
    await removeContainer(d, p, c.id);
  }
}

/** Delete the images' rows in one transaction (all or none), noting the collection their layers and blobs are owed. */
function deleteImageRows(d: Database, p: Paths, imgs: StoredImage[]): RemoveEvent[] {
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

/**
 * `rmi`: a name untags (and deletes the image once no name is left); an id deletes the image and all
 * its names (with several names only when forced, as docker does). An image a container uses is
 * refused unless forced, which removes those containers first. Unused layers and blobs go afterwards
 * (collectGarbage).
 */
export async function removeImage(d: Database, p: Paths, text: string, force: boolean): Promise<RemoveEvent[]> {
  const img = findImage(d, text);
  if (!img) throw new RlError(`${text}: image not known`, 1);
  const name = normalizeName(text);
  const byName = img.names.includes(name) && !/^(sha256:)?[0-9a-f]{3,64}$/.test(text);
  if (byName && img.names.length > 1) {
    transaction(d, p.db, () => d.query("DELETE FROM image_names WHERE name = ?").run(name));
    return [{ untagged: name }];
  }
  if (!byName && img.names.length > 1 && !force) {
    throw new RlError(`cannot remove image ${text}: it has ${img.names.length} names (${img.names.join(", ")}); remove them by name, or use rmi -f`);
  }
  const users = containersOf(d, img.id);
  if (users.length && !force) {
    throw new RlError(`cannot remove image ${text}: container ${users.map((c) => c.name).join(", ")} uses it; remove the container first (rl rm), or use rmi -f`);
  }
  await removeContainersOf(d, p, img.id);
  return deleteImageRows(d, p, [img]);
}

/** `image prune`: images without names (with `all`, every image) that no container uses. */
/** Remove unnamed images (`all`: every image) that no container uses and that `matches` (prune's --filter) keeps in. */
export function pruneImages(d: Database, p: Paths, all: boolean, matches: (img: StoredImage) => boolean = () => true): RemoveEvent[] {
  // Chosen inside the transaction: a container that starts to use an image meanwhile keeps it.
  return transaction(d, p.db, () => deleteImageRows(d, p, listImages(d).filter((img) => (all || !img.names.length) && !containersOf(d, img.id).length && matches(img))));
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
