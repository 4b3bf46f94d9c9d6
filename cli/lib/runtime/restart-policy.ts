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

/** docker's back-off before a restart: 100 ms, doubled each time, at most a minute. */
export const restartDelayMs = (restarts: number) => Math.min(100 * 2 ** restarts, 60_000);
