import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import { normalizeName } from "../image/reference";
import type { Paths } from "../paths";
import { transaction } from "./db";
import { requireImage } from "./images";

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*:[\w][\w.-]{0,127}$/;

/** `tag`: give the image another name; a name another image had moves here (that one may become <none>). */
export function tagImage(d: Database, p: Paths, image: string, newName: string): string {
  const img = requireImage(d, image);
  const name = normalizeName(newName);
  if (!NAME.test(name)) throw new RlError(`invalid image name ${JSON.stringify(newName)}: names are lowercase, like registry.example/app:1.0`);
  transaction(d, p.db, () => d.query("INSERT OR REPLACE INTO image_names (name, image_id) VALUES (?, ?)").run(name, img.id));
  return name;
}
