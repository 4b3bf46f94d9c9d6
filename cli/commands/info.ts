import type { Argv } from "yargs";
export const command = "info";
export const describe = "Show what this host offers rl";
export function builder(y: Argv) {
  return y;
}
export async function handler(): Promise<number> {
  return 0;
}
