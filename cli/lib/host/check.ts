import { accessSync, constants, readFileSync } from "node:fs";

/** One thing rl needs from the host: usable or not, and if not, why and what to do about it. */
export interface Check {
  ok: boolean;
  /** Set exactly when `ok` is false: one line, ending with what to install or change. */
  reason: string | null;
}

export const passed = (): Check => ({ ok: true, reason: null });
export const failed = (reason: string): Check => ({ ok: false, reason });

/** Reads a small text file; null when it cannot (absent, unreadable). Tests pass fakes. */
export type ReadText = (path: string) => string | null;

export const readText: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** access(2) only: never opens, never writes. */
export function canAccess(path: string, mode: number): boolean {
  try {
    accessSync(path, mode);
    return true;
  } catch {
    return false;
  }
}

export const canReadWrite = (path: string) => canAccess(path, constants.R_OK | constants.W_OK);

/** A /proc/sys value as an integer; null when the file does not exist. */
export function sysctlNumber(read: ReadText, path: string): number | null {
  const text = read(path);
  if (text === null) return null;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isNaN(n) ? null : n;
}

/** What `argv` prints (stdout, else stderr), or null if it cannot run. */
export async function outputOf(argv: string[]): Promise<string | null> {
  try {
    const p = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return out.trim() || err.trim() || null;
  } catch {
    return null;
  }
}

/** First line of `argv`'s output (a --version line), or null. */
export async function firstLineOf(argv: string[]): Promise<string | null> {
  return (await outputOf(argv))?.split("\n")[0]?.trim() || null;
}
