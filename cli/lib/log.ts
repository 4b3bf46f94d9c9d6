import { writeSync } from "node:fs";
// writeSync, not process.stderr: Bun builds its stream objects on first use, ~8 ms of every command.
const warned = new Set<string>();

/** Print a warning to stderr; each distinct message only once per process. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  writeSync(2, `rl: warning: ${message}\n`);
}

export function debug(message: string): void {
  if (process.env.RL_DEBUG) writeSync(2, `rl: debug: ${message}\n`);
}
