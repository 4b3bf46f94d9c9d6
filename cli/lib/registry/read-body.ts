import { RlError } from "../errors";
import { mib } from "./progress";

/**
 * A response's body, at most `limit` bytes: a Content-Length above it is refused before anything is
 * read, and a body that goes on past it (no Content-Length, or a false one) is cut off as soon as it does.
 * `what` names the body in the error ("the manifest of alpine:3.20 from 127.0.0.1:5000").
 */
export async function readBody(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new RlError(`${what} is too large: ${declared} bytes, more than the ${mib(limit)} rl accepts`);
  }
  const parts: Uint8Array[] = [];
  let got = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      got += r.value.length;
      if (got > limit) {
        await reader.cancel().catch(() => {});
        throw new RlError(`${what} is too large: more than the ${mib(limit)} rl accepts`);
      }
      parts.push(r.value);
    }
  }
  return new Uint8Array(Buffer.concat(parts, got));
}

/** Up to `limit` bytes of a body as text, the rest left unread: enough for an error message. */
export async function readPrefix(res: Response, limit: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let got = 0;
  try {
    while (got < limit) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
      got += r.value.length;
    }
  } catch {
    // What came before the failure is what there is to show.
  } finally {
    await reader.cancel().catch(() => {});
  }
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, limit));
}
