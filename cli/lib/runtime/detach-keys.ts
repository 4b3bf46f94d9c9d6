import { RlError } from "../errors";

/** docker's and podman's default: Ctrl-P, then Ctrl-Q. */
export const DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q";

const CTRL_PUNCTUATION: Record<string, number> = { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, _: 31 };

/**
 * `--detach-keys` as docker spells it: keys joined by commas, each a single character or `ctrl-X`
 * (X a letter, or one of @ [ \ ] ^ _). The bytes a terminal sends for them; "" turns detaching off.
 */
export function parseDetachKeys(text: string): number[] {
  if (text === "") return [];
  return text.split(",").map((key) => {
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-(.)$/i.exec(key);
    if (m) {
      const c = m[1]!;
      if (/[a-z]/i.test(c)) return c.toLowerCase().charCodeAt(0) - 96;
      if (c in CTRL_PUNCTUATION) return CTRL_PUNCTUATION[c]!;
    }
    throw new RlError(`invalid detach keys ${JSON.stringify(text)}: ${JSON.stringify(key)} is neither one character nor ctrl-X (X a letter or one of @[\\]^_)`);
  });
}

/**
 * Watches the user's input for the detach sequence. `feed` returns what to pass on to the container
 * and whether the sequence was typed: a partial match is held back until it completes (nothing of it is
 * sent) or breaks (then it is sent, as typed, but for its longest tail that starts the sequence again:
 * with ctrl-p,ctrl-p,ctrl-q, typing ctrl-p three times then ctrl-q detaches).
 */
export function detachScanner(keys: readonly number[]): (input: Uint8Array) => { pass: Uint8Array; detach: boolean } {
  let matched = 0;
  return (input) => {
    if (!keys.length) return { pass: input, detach: false };
    const out: number[] = [];
    for (const byte of input) {
      if (byte === keys[matched]) {
        if (++matched === keys.length) return { pass: Uint8Array.from(out), detach: true };
        continue;
      }
      const held = [...keys.slice(0, matched), byte];
      let tail = matched; // the byte broke the match: no tail of all that is held starts the sequence
      while (tail > 0 && !held.slice(held.length - tail).every((b, i) => b === keys[i])) tail--;
      out.push(...held.slice(0, held.length - tail));
      matched = tail;
    }
    return { pass: Uint8Array.from(out), detach: false };
  };
}
