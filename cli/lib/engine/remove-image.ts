import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import type { Paths } from "../paths";
import { removeContainer } from "../runtime/remove-container";
import { containersOfImage } from "../store/containers-table";
import { findImage } from "../store/images";
import { transaction } from "../store/db";
import { deleteImageRows, type RemoveEvent } from "../store/remove";
import { untagImage } from "../store/tag";
import { beingCreated } from "../store/container-state";
import { stopForRemoval } from "./kill-for-removal";
import { pauseForTests } from "../test-pause";

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
    untagImage(d, p, name);
    return [{ untagged: name }];
  }
  if (!byName && img.names.length > 1 && !force) {
    throw new RlError(`cannot remove image ${text}: it has ${img.names.length} names (${img.names.join(", ")}); remove them by name, or use rmi -f`);
  }
  const users = containersOfImage(d, img.id);
  if (users.length && !force) {
    throw new RlError(`cannot remove image ${text}: container ${users.map((c) => c.name).join(", ")} uses it; remove the container first (rl rm), or use rmi -f`);
  }
  for (const c of users) {
    if ((c.state === "running" || beingCreated(c)) && !stopForRemoval(d, p, c)) continue;
    await removeContainer(d, p, c.id);
  }
  pauseForTests("RL_TEST_PAUSE_BEFORE_IMAGE_DELETE");
  // Checked again with the delete: a container another rl made of it meanwhile keeps it (see insertContainer).
  return transaction(d, p.db, () => {
    const late = containersOfImage(d, img.id).filter((c) => !users.some((u) => u.id === c.id));
    if (late.length) throw new RlError(`cannot remove image ${text}: container ${late.map((c) => c.name).join(", ")} started to use it meanwhile; ${force ? "try again" : "remove the container first (rl rm), or use rmi -f"}`);
    return deleteImageRows(d, p, [img]);
  });
}
