/**
 * A gate for async work: at most `n` calls of the returned function run their `fn` at a time; the others
 * wait their turn, the highest `priority` first (then first come, first served).
 */
export function limiter(n: number): <T>(fn: () => Promise<T>, priority?: number) => Promise<T> {
  let active = 0;
  const waiting: { priority: number; go: () => void }[] = [];
  return async (fn, priority = 0) => {
    // A finishing call hands its slot straight to the next waiter, so `active` never goes over `n`.
    if (active < n) active++;
    else
      await new Promise<void>((go) => {
        const at = waiting.findIndex((w) => w.priority < priority);
        waiting.splice(at < 0 ? waiting.length : at, 0, { priority, go });
      });
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next.go();
      else active--;
    }
  };
}
