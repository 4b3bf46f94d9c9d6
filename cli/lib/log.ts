const warned = new Set<string>();

/** Print a warning to stderr; each distinct message only once per process. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`rl: warning: ${message}\n`);
}

export function debug(message: string): void {
  if (process.env.RL_DEBUG) process.stderr.write(`rl: debug: ${message}\n`);
}
