import { RlError } from "../errors";

/** --restart, as docker and podman spell it: no, on-failure[:N], always, unless-stopped. */
export interface RestartPolicy {
  name: "no" | "on-failure" | "always" | "unless-stopped";
  /** on-failure:N: at most N restarts (0: no limit). */
  maxRetries: number;
}

export function parseRestartPolicy(text: string): RestartPolicy {
  const m = /^(no|on-failure|always|unless-stopped)(?::(\d{1,6}))?$/.exec(text);
  if (!m || (m[2] !== undefined && m[1] !== "on-failure")) throw new RlError(`invalid --restart ${JSON.stringify(text)}: use no, on-failure[:N], always or unless-stopped`);
  return { name: m[1] as RestartPolicy["name"], maxRetries: Number(m[2] ?? 0) };
}

/**
 * Whether a detached container that ended with `code` is started again: not after rl stop (either
 * policy), on-failure only for a code other than 0 and at most maxRetries times.
 */
export function wantsRestart(policy: RestartPolicy | undefined, code: number, restarts: number, stoppedByUser: boolean): boolean {
  if (!policy || policy.name === "no" || stoppedByUser) return false;
  if (policy.name === "on-failure") return code !== 0 && (policy.maxRetries === 0 || restarts < policy.maxRetries);
  return true;
}

/** A run this long puts the back-off before the next restart back to its start (docker's rule). */
export const BACKOFF_RESET_MS = 10_000;

/**
 * docker's back-off before a restart: 100 ms, doubled each time, at most a minute, and 100 ms again after
 * a run of BACKOFF_RESET_MS or more (a service that fails once a day does not wait a minute for ever).
 * `step`: the restarts since it was last reset; `ranMs`: how long the run that just ended lasted.
 */
export function restartBackoff(step: number, ranMs: number): { delayMs: number; next: number } {
  const s = ranMs >= BACKOFF_RESET_MS ? 0 : step;
  return { delayMs: Math.min(100 * 2 ** s, 60_000), next: s + 1 };
}
