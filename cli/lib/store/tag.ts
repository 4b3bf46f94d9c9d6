import type { Database } from "bun:sqlite";
import { imageName } from "../image/reference";
import type { Paths } from "../paths";
import { transaction } from "./db";
import { requireImage } from "./images";

/** `tag`: give the image another name; a name another image had moves here (that one may become <none>). */
export function tagImage(d: Database, p: Paths, image: string, newName: string): string {
  const name = imageName(newName);
  const img = requireImage(d, image);
  transaction(d, p.db, () => d.query("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)").run(name, img.id));
  return name;
}

/** Take a name off its image (rmi NAME of an image with other names). */
export function untagImage(d: Database, p: Paths, name: string): void {
  transaction(d, p.db, () => d.query("DELETE FROM image_names WHERE name = ?").run(name));
}
