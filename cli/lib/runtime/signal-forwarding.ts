import { killPid } from "../sys/executor";

const FORWARDED = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 } as const;

/**
 * Forward the signals rl receives (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) to the process
 * `to` names, as docker's sig-proxy does; those that arrive before are delivered then. `stop` ends it.
 */
export function forwardSignals(): { to(pid: number): void; stop(): void } {
  let target = 0;
  const pending: number[] = [];
  const handlers = Object.entries(FORWARDED).map(([name, sig]) => [name, () => (target ? killPid(target, sig) : pending.push(sig))] as const);
  for (const [name, h] of handlers) process.on(name as NodeJS.Signals, h);
  return {
    to(pid) {
      target = pid;
      for (const sig of pending.splice(0)) killPid(pid, sig);
    },
    stop() {
      for (const [name, h] of handlers) process.off(name as NodeJS.Signals, h);
    },
  };
}
