/**
 * How much rl reads of what a registry sends, and how long it waits for it. Sizes are those of
 * containers/image (internal/iolimits): a registry that sends more is refused while the bytes come,
 * never after reading them all.
 */
export const LIMITS = {
  /** A manifest or index: docker distribution itself refuses larger ones. */
  manifest: 4 << 20,
  config: 4 << 20,
  /** A token server's answer. */
  token: 1 << 20,
  /** Of an error answer only this much is read: its message is in the first bytes. */
  errorBody: 64 << 10,
} as const;

/** Redirects followed for one request, as Go's http.Client (podman's) follows. */
export const MAX_REDIRECTS = 10;

const DEFAULT_TIMEOUT_S = 30;

/**
 * Seconds a registry may send nothing (no answer to a request, no byte of a body) before the request is
 * given up and retried: $RL_REGISTRY_TIMEOUT, else 30. containers/image gives a connection 30 s
 * (its dialer's timeout) and keeps no idle limit; rl uses the same 30 s for the connection and the
 * answer, and for each gap in a body, so that a registry that stalls cannot hang a pull.
 */
export function registryTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.RL_REGISTRY_TIMEOUT);
  return (env.RL_REGISTRY_TIMEOUT && Number.isFinite(s) && s > 0 ? s : DEFAULT_TIMEOUT_S) * 1000;
}

/** "30s", "0.5s". */
export function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
