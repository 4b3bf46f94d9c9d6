/** Dropped or refused connections and stalls: worth another try (unlike a name that does not resolve, or bad TLS). */
const TRANSIENT = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "UND_ERR_SOCKET", "ConnectionClosed", "ConnectionRefused"]);

export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code !== undefined && TRANSIENT.has(code);
}

/** Bun's words for its fetch failures, by code: its messages end in advice about fetch() options meant for programmers. */
const WORDS: Record<string, string> = {
  ECONNRESET: "the connection was closed unexpectedly",
  ConnectionClosed: "the connection was closed unexpectedly",
  ECONNREFUSED: "connection refused",
  ConnectionRefused: "connection refused",
  FailedToOpenSocket: "cannot open a connection",
  EPIPE: "the connection was closed while sending",
};

/** A network failure in a user's words, without Bun's "pass `verbose: true` …" advice. */
export function networkWords(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code && WORDS[e.code]) return WORDS[e.code]!;
  const message = String(e?.message ?? err)
    .replace(/\s*For more information, pass `verbose: true` in the second argument to fetch\(\)\.?/, "")
    .replace(/\s*Is the computer able to access the url\?/, "");
  return e?.code && message.startsWith(`${e.code}: `) ? message.slice(e.code.length + 2) : message;
}
