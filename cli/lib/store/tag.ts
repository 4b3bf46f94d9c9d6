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
