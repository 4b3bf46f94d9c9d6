import type { Database } from "bun:sqlite";
import type { Paths } from "../paths";
import { openDb } from "./db";
import { cleanDebris } from "./debris";

/** The store for an image command: its database, after clearing what killed rl runs left in tmp/. */
export async function openStore(p: Paths): Promise<Database> {
  const d = openDb(p.db);
  await cleanDebris(d, p);
  return d;
}
