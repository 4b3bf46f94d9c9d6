import type { Example } from "../verb";
import { findVolume, openDb, paths } from "../lib/index";

export const command = "exists <VOLUME>";
export const describe = "Exit 0 when the volume exists, 1 when not";

export const POSITIONALS = { VOLUME: "a volume name" };
export const OPTIONS = {};
export const EXAMPLES: Example[] = [["$0 volume exists data || $0 volume create data", "Create data unless it exists"]];

export async function handler(a: { VOLUME: string }): Promise<number> {
  return findVolume(openDb(paths().db), a.VOLUME) ? 0 : 1;
}
