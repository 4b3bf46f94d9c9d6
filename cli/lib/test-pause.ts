import { existsSync, writeFileSync } from "node:fs";

/**
 * For tests only: when the environment variable `name` names a file, create it (holding this pid) and
 * wait until the test removes it, so that the test can act at this exact point (e.g. kill rl here).
 */
export function pauseForTests(name: string): void {
  const file = process.env[name];
  if (!file) return;
  writeFileSync(file, String(process.pid));
  while (existsSync(file)) Bun.sleepSync(10);
}
